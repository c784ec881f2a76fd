#!/usr/bin/env bash
# Roundhouse vs nginx vs HAProxy at the same offered load: the setup of bench/proxy-vs-peers.sh
# (same backends, same proxy configurations, same CPU pinning), loaded by the project's own
# open-loop generator (dev.roundhouse.bench.load.FixedRate) instead of wrk: RATES requests per
# second over CONNECTIONS keep-alive connections, each request sent at its due time and its latency
# measured from that due time (no coordinated omission), so p50/p99/p99.9 compare at equal load.
#
#   RATES="5000 15000" CONNECTIONS=64 DURATION=10s ROUNDS=3 bench/fixed-rate.sh
#
# Every variable of proxy-vs-peers.sh applies (TARGETS, CONNECTIONS, DURATION, ROUNDS, WARMUP, PRIME,
# PROXY_CPU, LOAD_CPU, WRK_TIMEOUT as the per-request timeout, ...), plus RATES, FR_WARMUP, FR_PRIME_ROUNDS and
# BENCH_JAR; see that script. The generator needs `mvn -B -q -DskipTests package` (bench jar).
set -euo pipefail
LOAD=fixed-rate exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/proxy-vs-peers.sh" "$@"
