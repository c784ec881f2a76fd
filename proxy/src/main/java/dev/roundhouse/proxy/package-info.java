/**
 * Roundhouse's proxy. {@link dev.roundhouse.proxy.RoundhouseProxy} wires the packages, which depend one way (checked by
 * {@code LayoutTest}): {@code server} (clients) and {@code upstream} (backends) below {@code forward} (the request
 * lifecycle); {@code codec} below both; {@code pool}, {@code health}, {@code breaker}, {@code tls}, {@code config} and
 * {@code metrics} beside them.
 */
package dev.roundhouse.proxy;
