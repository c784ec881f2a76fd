/**
 * HTTP/1.1 without I/O: the request-head scanner, the response-head parser, the chunked decoder, hop-by-hop fields,
 * head limits and plain answers. Pure and unit-tested; depends on nothing of the proxy.
 */
package dev.roundhouse.proxy.codec;
