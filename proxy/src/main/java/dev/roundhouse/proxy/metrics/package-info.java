/**
 * The proxy's meters (one definition of each name) and the admin server on the metrics port: {@code /metrics},
 * {@code /healthz}, {@code /readyz}.
 */
package dev.roundhouse.proxy.metrics;
