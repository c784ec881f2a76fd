/**
 * The proxy's status document ({@code GET /status} on its admin port, docs/status.md): written by the proxy, read by
 * the operator, defined once here, as the pool document is for the other direction.
 */
package dev.roundhouse.poolformat.status;
