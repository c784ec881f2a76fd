/**
 * The backend side, per I/O thread: connections kept per backend with one set of limits, and the two sides of the
 * HTTP/1.1 exchange on a connection ({@link dev.roundhouse.proxy.upstream.RequestBodyPump},
 * {@link dev.roundhouse.proxy.upstream.ResponseRelay}), which report what happened and leave decisions to the
 * lifecycle. Knows a request only as an {@link dev.roundhouse.proxy.upstream.UpstreamExchange}.
 */
package dev.roundhouse.proxy.upstream;
