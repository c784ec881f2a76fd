/**
 * The admin port ({@link dev.roundhouse.proxy.status.AdminServer}): {@code /metrics}, the probes, and what the proxy
 * makes of its pool for people and the operator: {@code /status} (docs/status.md) and the status page. The state
 * changes are journalled as they happen; everything else is read when asked, from what the proxy keeps anyway.
 */
package dev.roundhouse.proxy.status;
