#!/usr/bin/env bash
# Operator memory: the operator's heap (after a full GC) against Service/EndpointSlice pairs that no
# LoadBalancer names, as a large cluster has them; the operator watches them all for serviceRef.
# For each count in PAIRS, a fresh embedded API server gets that many pairs (shaped as a real cluster
# stores them: managed fields, kubectl's last-applied annotation, three endpoints with target
# references); the operator's jar then starts as a process of its own with its pod's JVM flags.
# See dev.roundhouse.bench.scale.OperatorMemory.
#
# Environment (all optional):
#   PAIRS               counts to measure, comma-separated       (default 0,1000,10000)
#   OPERATOR_JAR        the operator jar    (default <repo>/operator/target/roundhouse-operator.jar)
#   OPERATOR_JAVA_OPTS  its JVM flags (default its image's, with the chart's 512 MiB limit:
#                       -XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError)
#   SETTLE_SECONDS      wait after it is ready, before the GC     (default 10)
#   BENCH_JAR           default <repo>/bench/target/roundhouse-bench.jar
#
# Output: a table of heap by count and KiB per pair over the count 0, and RESULT lines.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
export OPERATOR_JAR="${OPERATOR_JAR:-$REPO_DIR/operator/target/roundhouse-operator.jar}"
[[ -f "$OPERATOR_JAR" ]] || { echo "operator jar not found: $OPERATOR_JAR (build: mvn -B -q -DskipTests package)" >&2; exit 2; }
[[ -f "$BENCH_JAR" ]] || { echo "bench jar not found: $BENCH_JAR (build: mvn -B -q -DskipTests package)" >&2; exit 2; }

echo "== operator-memory $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$(nproc), $(java -version 2>&1 | head -n 1); load before: $(uptime)"
LOG_LEVEL="${LOG_LEVEL:-warn}" java -Xmx3g -cp "$BENCH_JAR" dev.roundhouse.bench.scale.OperatorMemory
