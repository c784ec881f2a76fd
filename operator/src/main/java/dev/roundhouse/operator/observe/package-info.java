/**
 * What the proxies see of their backends, brought into the LoadBalancer's status: each ready proxy's
 * {@code /status} is waited on ({@link ProxyStatusWatch}), and the answers are folded per backend
 * ({@link BackendsFold}) into a view that changes at most once per LoadBalancer every 10 seconds.
 */
package dev.roundhouse.operator.observe;
