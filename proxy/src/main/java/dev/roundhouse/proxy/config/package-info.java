/**
 * Where the proxy's settings come from: environment variables ({@link dev.roundhouse.proxy.config.ProxySettings}),
 * and the pool document from a file or a watched ConfigMap, applied to the pool as a whole or not at all.
 */
package dev.roundhouse.proxy.config;
