#!/usr/bin/env bash
# Operator scale: the real operator (in-process, leader election off) against the
# embedded API server with the LoadBalancer CRD; creates LBS LoadBalancers (2
# backends each) at once and reports how long they take to converge and to turn
# Ready, the API writes per LoadBalancer, the operator's heap, and the writes of a
# no-op resync (the operator restarted; goal: 0). No proxy runs: the benchmark
# writes each proxy Deployment's status (all replicas ready) as a kubelet would.
# With PROXY_STATUS=1 it also writes each LoadBalancer's metrics EndpointSlice, whose one
# ready endpoint is a fake proxy in the benchmark's JVM answering /status as the proxy does
# (long poll included), so the operator waits on 1,000 proxies; it then measures healthy 2/2,
# the idle cost (CPU, status requests), and one backend of every LoadBalancer going out of
# rotation (time until BackendsHealthy=False everywhere, writes).
# See dev.roundhouse.bench.scale.OperatorScale for what is measured.
#
# Environment (all optional):
#   LBS             LoadBalancers to create             (default 1000)
#   CREATE_THREADS  threads creating them               (default 4)
#   KUBELET         1: write Deployment status so LoadBalancers turn Ready;
#                   0: do not (Ready stays False, ProxiesNotReady)  (default 1)
#   PROXY_STATUS    1: fake proxies answer /status at each LoadBalancer's metrics EndpointSlice;
#                   0: no EndpointSlice, no proxy to ask; "0 1": both, one JVM each, then
#                   the two RESULT lines side by side                      (default 1)
#   IDLE            how long the idle windows last (in-process after convergence, and the
#                   operator process after its resync); 0s: none          (default 60s)
#   TIMEOUT         give up converging after            (default 10m)
#   QUIET           "no more writes" means none for     (default 5s)
#   HISTOGRAM       n > 0: print the n classes taking the most heap at each heap measurement (default 0)
#   JAVA_OPTS       JVM options of the benchmark JVM    (default -Xmx2g)
#   OPERATOR_JAR    the operator jar for the last resync, run as a process of its own, whose heap
#                   and RSS are reported      (default <repo>/operator/target/roundhouse-operator.jar;
#                   empty: skip that resync)
#   OPERATOR_JAVA_OPTS  its JVM options (default: its image's flags, and -XX:MaxRAM=512m for the
#                   chart's memory limit: -XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError)
#   PROFILE         1: record a JFR profile to $PROFILE_FILE (default /tmp/operator-scale.jfr)
#   BENCH_JAR       default <repo>/bench/target/roundhouse-bench.jar
#
# Output: the machine and its load average, progress, a table of convergence
# times, a table of writes, heap, the resync's writes, PASS/FAIL lines and a
# "RESULT operator-scale ..." line. Exit code: 0 goals met, 1 a goal missed, 2 failed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
JAVA_OPTS="${JAVA_OPTS:--Xmx2g}"
PROFILE="${PROFILE:-0}"
PROFILE_FILE="${PROFILE_FILE:-/tmp/operator-scale.jfr}"
export OPERATOR_JAR="${OPERATOR_JAR-$REPO_DIR/operator/target/roundhouse-operator.jar}"
if [[ -n "$OPERATOR_JAR" && ! -f "$OPERATOR_JAR" ]]; then
  echo "operator jar not found: $OPERATOR_JAR (build it, or set OPERATOR_JAR= to skip that resync)" >&2; exit 2
fi

command -v java >/dev/null 2>&1 || { echo "java not found" >&2; exit 2; }
[[ -f "$BENCH_JAR" ]] || { echo "bench jar not found: $BENCH_JAR (build: mvn -B -q -DskipTests package)" >&2; exit 2; }
if [[ "$PROFILE" == 1 ]]; then
  JAVA_OPTS="$JAVA_OPTS -XX:StartFlightRecording=filename=$PROFILE_FILE,settings=profile"
fi

echo "== operator-scale $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -n 1)"
echo "load before: $(uptime)"
PROXY_STATUS="${PROXY_STATUS:-1}"
PROXY_STATUS="${PROXY_STATUS//,/ }"
for ps in $PROXY_STATUS; do
  case "$ps" in 0|1) ;; *) echo "PROXY_STATUS must be 0, 1 or a list of them, got '$ps'" >&2; exit 2 ;; esac
done
echo "settings: LBS=${LBS:-1000} CREATE_THREADS=${CREATE_THREADS:-4} KUBELET=${KUBELET:-1} PROXY_STATUS=\"$PROXY_STATUS\" IDLE=${IDLE:-60s} TIMEOUT=${TIMEOUT:-10m} QUIET=${QUIET:-5s} JAVA_OPTS=\"$JAVA_OPTS\""
rc=0
results=()
for ps in $PROXY_STATUS; do
  out="$(mktemp "${TMPDIR:-/tmp}/operator-scale.XXXXXX")"
  echo
  echo "== PROXY_STATUS=$ps (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  set +e
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  PROXY_STATUS="$ps" LOG_LEVEL="${LOG_LEVEL:-warn}" java $JAVA_OPTS -cp "$BENCH_JAR" \
    dev.roundhouse.bench.scale.OperatorScale | tee "$out"
  one=${PIPESTATUS[0]}
  set -e
  (( one > rc )) && rc=$one
  results+=( "$(grep '^RESULT operator-scale ' "$out" | tail -n 1 || true)" )
  rm -f "$out"
done
if (( ${#results[@]} > 1 )); then
  # one row per key, one column per run: what PROXY_STATUS changes
  echo
  echo "side by side (PROXY_STATUS = $PROXY_STATUS):"
  printf '%s\n' "${results[@]}" | awk '
    { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (!(kv[1] in seen)) { seen[kv[1]] = 1; keys[++n] = kv[1] }
        v[kv[1], NR] = kv[2] } runs = NR }
    END { for (k = 1; k <= n; k++) { line = sprintf("  %-28s", keys[k])
            for (r = 1; r <= runs; r++) line = line sprintf(" %14s", ((keys[k], r) in v) ? v[keys[k], r] : "-")
            print line } }'
fi
echo "load after: $(uptime)"
[[ "$PROFILE" == 1 ]] && echo "profile: $PROFILE_FILE (jfr print --events jdk.ExecutionSample $PROFILE_FILE)"
exit "$rc"
