#!/usr/bin/env bash
# Rotation build: the CPU time of building the proxy's weighted rotation, which happens under the pool's lock
# on every reload and every health flip, for pools up to the pool format's limits (1,000 backends, weights up
# to 1,000). See dev.roundhouse.bench.pool.RotationBuild.
#
# Environment (all optional):
#   BUILDS      builds per case, after a warm-up   (default 50)
#   PROXY_JAR   another build's roundhouse-proxy.jar to measure instead (put first on the class path), for a
#               before/after comparison
#   CPU         the CPU to pin the run to           (default 1)
#   BENCH_JAR   default <repo>/bench/target/roundhouse-bench.jar
#
# Output: a table of p50 / p90 / max milliseconds per case, and RESULT lines.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
[[ -f "$BENCH_JAR" ]] || { echo "bench jar not found: $BENCH_JAR (build: mvn -B -q -DskipTests package)" >&2; exit 2; }
classpath="$BENCH_JAR"
if [[ -n "${PROXY_JAR:-}" ]]; then
  [[ -f "$PROXY_JAR" ]] || { echo "PROXY_JAR not found: $PROXY_JAR" >&2; exit 2; }
  classpath="$PROXY_JAR:$BENCH_JAR"
fi

echo "== rotation-build $(date -u '+%Y-%m-%d %H:%M UTC'), proxy classes from ${PROXY_JAR:-this build}"
echo "machine: nproc=$(nproc), $(java -version 2>&1 | head -n 1); load before: $(uptime)"
taskset -c "${CPU:-1}" java -Xmx1g -XX:+UseSerialGC -cp "$classpath" dev.roundhouse.bench.pool.RotationBuild "${BUILDS:-50}"
