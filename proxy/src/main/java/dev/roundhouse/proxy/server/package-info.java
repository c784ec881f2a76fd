/**
 * The client side: the Undertow listeners (plain HTTP, and HTTPS on a context it is given; {@code HttpsRedirect}), framing and limits of what clients send ({@code RequestGuard},
 * {@code RequestHeadGate}), drain on shutdown, buffers. Handed its handler; knows nothing of forwarding.
 */
package dev.roundhouse.proxy.server;
