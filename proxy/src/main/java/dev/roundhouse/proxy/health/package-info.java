/** Active health checks: each backend checked concurrently, its state changed in the pool after thresholds. */
package dev.roundhouse.proxy.health;
