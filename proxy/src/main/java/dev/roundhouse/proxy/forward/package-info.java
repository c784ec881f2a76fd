/**
 * The one request lifecycle: pick a backend and take its breaker permit, attempts and retries, connect and request
 * deadlines, one outcome (the verdict, the request metric, the error answer), X-Forwarded-* fields, and tunnels after
 * a protocol switch.
 */
package dev.roundhouse.proxy.forward;
