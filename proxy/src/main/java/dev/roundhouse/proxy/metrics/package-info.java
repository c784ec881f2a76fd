/** The proxy's meters (one definition of each name) and their Prometheus exposition. */
package dev.roundhouse.proxy.metrics;
