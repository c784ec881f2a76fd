/** The circuit breaker of each backend, and the kinds of upstream failure a breaker is told about. */
package dev.roundhouse.proxy.breaker;
