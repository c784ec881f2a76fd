#!/usr/bin/env bash
# Rollout under load: fixed-rate keep-alive traffic to a LoadBalancer's Service port in the local mode
# (embedded API server, the operator, the local kubelet) while its proxies are replaced ROLLOUTS times the
# way a Deployment replaces them: a change of spec.podTemplate.annotations rolls the Deployment; the new
# proxy starts; once it is ready the old one gets SIGTERM; and for ENDPOINT_LAG after that SIGTERM new
# connections still reach the old one, as kube-proxy and cloud load balancers keep sending them until they
# hear the endpoint is terminating. Two modes, interleaved in each round:
#   shutdown-delay  the proxies as the operator runs them (SHUTDOWN_DELAY 5s: not ready, still accepting)
#   no-delay        the earlier behaviour (SHUTDOWN_DELAY=0s: the listener closes at SIGTERM)
# Counts failed requests and refused connections (connections to the Service port whose endpoint refused
# them). See dev.roundhouse.bench.rollout.RolloutUnderLoad.
#
# Environment (all optional):
#   ROUNDS        rounds, each running every mode once       (default 3)
#   ROLLOUTS      rollouts per run                            (default 5)
#   EVERY         time between rollouts                       (default 12s: start + 5 s delay + drain fit)
#   RATE          requests per second in total                (default 500)
#   CONNECTIONS   keep-alive connections                      (default 16)
#   ENDPOINT_LAG  new connections still reaching the old proxy after its SIGTERM (default 1s)
#   MODES         default shutdown-delay,no-delay
#   CPUS          CPUs for the run (driver, backends, API server, operator, proxies; default all)
#   BENCH_JAR     default <repo>/bench/target/roundhouse-bench.jar
#
# Output: each run's report and RESULT line, then medians per mode. Exit code 1 when a shutdown-delay run
# failed a request or had a connection refused.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
[[ -f "$BENCH_JAR" ]] || { echo "bench jar not found: $BENCH_JAR (build: mvn -B -q -DskipTests package)" >&2; exit 2; }

pin=()
if [[ -n "${CPUS:-}" ]]; then
  pin=(taskset -c "$CPUS")
fi

echo "== rollout-under-load $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$(nproc), $(java -version 2>&1 | head -n 1); load before: $(uptime)"
if command -v vmstat >/dev/null; then
  echo "vmstat (st = CPU stolen by the host):"; vmstat 1 3 | sed 's/^/  /'
fi
LOG_LEVEL="${LOG_LEVEL:-warn}" "${pin[@]}" java -Xmx1g -cp "$BENCH_JAR" dev.roundhouse.bench.rollout.RolloutUnderLoad \
  --rounds "${ROUNDS:-3}" --rollouts "${ROLLOUTS:-5}" --every "${EVERY:-12s}" --rate "${RATE:-500}" \
  --connections "${CONNECTIONS:-16}" --endpoint-lag "${ENDPOINT_LAG:-1s}" \
  --modes "${MODES:-shutdown-delay,no-delay}"
