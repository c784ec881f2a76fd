/**
 * How the proxy trusts TLS backends: one trust context per {@code backendTLS} settings, the same for requests and
 * health checks, with certificate chains and names checked as RFC 6125 says.
 */
package dev.roundhouse.proxy.tls;
