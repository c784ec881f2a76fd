/**
 * TLS on both sides. To clients: the certificates served on the HTTPS port, read from PEM files, chosen per
 * handshake by the name the client asks for, and read again when the files change ({@code TlsTermination},
 * {@code SniKeyManager}, {@code ServerCertificate}). To backends: one trust context per {@code backendTLS} settings,
 * the same for requests and health checks, with certificate chains and names checked as RFC 6125 says. Uses nothing
 * else of the proxy.
 */
package dev.roundhouse.proxy.tls;
