/**
 * The pool as values: backends, their weights and health, and the snapshot a request picks from, swapped atomically on
 * a reload. It knows no transport: nothing here opens a connection or imports Undertow, XNIO or TLS.
 */
package dev.roundhouse.proxy.pool;
