#!/usr/bin/env bash
# Soak: the real Roundhouse proxy in front of local nginx backends at a fixed
# request rate for a long time (10 minutes by default), sampling its memory,
# GC, file descriptors and errors every 10 s; prints a table and a verdict
# against the goals (flat memory, RSS under 256 MiB, no error).
#
# CPU layout (2 cores): the proxy alone on PROXY_CPU; the load generator and the
# backends on LOAD_CPU. At 2,000 req/s neither CPU is near full; the layout keeps
# the proxy's CPU time and GC its own.
#
# The proxy runs as a pod would run it: the image's JVM flags
# (-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError) and, with -XX:MaxRAM=256m,
# the JVM sizing itself for the operator's default memory limit (256Mi) as it would
# inside that container; pinned to one CPU, as a pod with a 1-CPU limit sees
# (SerialGC, one I/O thread). Set JAVA_OPTS to run it otherwise.
#
# Environment (all optional):
#   DURATION         how long to load                   (default 10m; e.g. DURATION=60s for a quick run)
#   RATE             requests per second                (default 2000)
#   CONNECTIONS      keep-alive client connections      (default 32)
#   SAMPLE_INTERVAL  how often to sample                (default 10s)
#   BACKEND_COUNT    nginx backends (ports)             (default 3)
#   PROXY_CPU        CPU for the proxy                  (default 1)
#   LOAD_CPU         CPU for the generator and backends (default 0)
#   JAVA_OPTS        the proxy's JVM options            (default: as in the pod, above)
#   FLAT_TOLERANCE   % the last third may exceed the middle third (default 10)
#   RSS_LIMIT_MIB    RSS must stay under this           (default 256)
#   FORCE_GC         1: full GC via jcmd at 1/3, 2/3 and the end to measure live heap (default 1)
#   REQUEST_TIMEOUT  per request                        (default 2s)
#   PORT_BASE        fixed ports PORT_BASE.. instead of probing for free ones
#   PROXY_JAR        default <repo>/proxy/target/roundhouse-proxy.jar
#   BENCH_JAR        default <repo>/bench/target/roundhouse-bench.jar (holds the generator)
#   READY_TIMEOUT    seconds to wait for /readyz        (default 60)
#   KEEP_TMP         1 = keep the temp dir (proxy and nginx logs)
#
# Output: the settings, the machine and its load average, one table row per
# sample, totals, one PASS/FAIL line per goal and a "RESULT soak ..." line.
# Exit code: 0 all goals met, 1 a goal missed, 2 could not measure.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"

DURATION="${DURATION:-10m}"
RATE="${RATE:-2000}"
CONNECTIONS="${CONNECTIONS:-32}"
SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-10s}"
BACKEND_COUNT="${BACKEND_COUNT:-3}"
PROXY_CPU="${PROXY_CPU:-1}"
LOAD_CPU="${LOAD_CPU:-0}"
JAVA_OPTS="${JAVA_OPTS:--XX:MaxRAM=256m -XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError}"
FLAT_TOLERANCE="${FLAT_TOLERANCE:-10}"
RSS_LIMIT_MIB="${RSS_LIMIT_MIB:-256}"
FORCE_GC="${FORCE_GC:-1}"
REQUEST_TIMEOUT="${REQUEST_TIMEOUT:-2s}"
PROXY_JAR="${PROXY_JAR:-$REPO_DIR/proxy/target/roundhouse-proxy.jar}"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
KEEP_TMP="${KEEP_TMP:-0}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool not found: $1"; }

[[ -x "$NGINX_BIN" ]] || NGINX_BIN="$(command -v nginx 2>/dev/null)" || die "required tool not found: nginx"
for t in java curl mktemp; do need "$t"; done
[[ -f "$PROXY_JAR" ]] || die "proxy jar not found: $PROXY_JAR (build: mvn -B -q -DskipTests package)"
[[ -f "$BENCH_JAR" ]] || die "bench jar not found: $BENCH_JAR (build: mvn -B -q -DskipTests package)"
[[ "$BACKEND_COUNT" =~ ^[1-9]$ ]] || die "BACKEND_COUNT must be 1..9"

NCPU="$(nproc --all 2>/dev/null || nproc)"
PIN_PROXY=(); PIN_LOAD=()
if command -v taskset >/dev/null 2>&1 && (( PROXY_CPU < NCPU && LOAD_CPU < NCPU )); then
  PIN_PROXY=(taskset -c "$PROXY_CPU"); PIN_LOAD=(taskset -c "$LOAD_CPU")
  [[ "$PROXY_CPU" != "$LOAD_CPU" ]] || log "WARNING: PROXY_CPU == LOAD_CPU ($PROXY_CPU)"
else
  log "WARNING: taskset missing or CPUs $PROXY_CPU/$LOAD_CPU not available (nproc=$NCPU): not pinning"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roundhouse-soak.XXXXXX")"
PIDS=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$? p i alive
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for (( i = 0; i < 100; i++ )); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ "$KEEP_TMP" == 1 ]]; then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- ports ---
NPORTS=$(( BACKEND_COUNT + 2 ))
if [[ -n "${PORT_BASE:-}" ]]; then
  PORTS=(); for (( i = 0; i < NPORTS; i++ )); do PORTS+=( $(( PORT_BASE + i )) ); done
else
  need python3
  read -r -a PORTS < <(python3 - "$NPORTS" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
fi
BACKEND_PORTS=( "${PORTS[@]:0:$BACKEND_COUNT}" )
RH_PORT=${PORTS[$BACKEND_COUNT]}
RH_METRICS_PORT=${PORTS[$(( BACKEND_COUNT + 1 ))]}

wait_http() {   # wait_http <url> <pid> <name> <timeout_s> <logfile>
  local url="$1" pid="$2" name="$3" deadline=$(( SECONDS + $4 )) logf="$5"
  while (( SECONDS < deadline )); do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logf" >&2 || true; die "$name exited during start-up"; }
    curl -fs -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.2
  done
  tail -n 30 "$logf" >&2 || true
  die "$name not ready at $url after $4 s"
}

# -------------------------------------------------------------- machine ---
echo "== soak $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$NCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -n 1)"
echo "load before: $(uptime)"
echo "settings: DURATION=$DURATION RATE=$RATE CONNECTIONS=$CONNECTIONS SAMPLE_INTERVAL=$SAMPLE_INTERVAL BACKEND_COUNT=$BACKEND_COUNT PROXY_CPU=$PROXY_CPU LOAD_CPU=$LOAD_CPU FORCE_GC=$FORCE_GC"
echo "proxy JVM: JAVA_OPTS=\"$JAVA_OPTS\"${PIN_PROXY:+ under ${PIN_PROXY[*]}}"

# ------------------------------------------------------------- backends ---
mkdir -p "$TMP/backend/logs" "$TMP/proxy"
{
  echo "worker_processes 1;"
  echo "pid $TMP/backend/nginx.pid;"
  echo "error_log $TMP/backend/logs/error.log warn;"
  echo "events { worker_connections 4096; }"
  echo "http {"
  echo "  access_log off; keepalive_requests 100000000; keepalive_timeout 300s; default_type text/plain;"
  for (( i = 0; i < BACKEND_COUNT; i++ )); do
    # a 100-byte body naming the backend
    body="$(printf 'soak-backend-%d-%086d' "$(( i + 1 ))" 0 | cut -c1-100)"
    echo "  server { listen 127.0.0.1:${BACKEND_PORTS[$i]} backlog=4096; location / { return 200 \"$body\"; } }"
  done
  echo "}"
} > "$TMP/backend/nginx.conf"
log "starting nginx backends (1 worker, ports ${BACKEND_PORTS[*]})${PIN_LOAD:+ on CPU $LOAD_CPU}"
"${PIN_LOAD[@]}" "$NGINX_BIN" -p "$TMP/backend" -c "$TMP/backend/nginx.conf" -e "$TMP/backend/logs/error.log" \
  -g 'daemon off;' >"$TMP/backend/logs/stdout.log" 2>&1 &
PIDS+=( $! ); NGINX_PID=$!
for p in "${BACKEND_PORTS[@]}"; do
  wait_http "http://127.0.0.1:$p/" "$NGINX_PID" "nginx backend" 15 "$TMP/backend/logs/error.log"
done

# ---------------------------------------------------------------- proxy ---
BACKENDS=""
for p in "${BACKEND_PORTS[@]}"; do BACKENDS="${BACKENDS:+$BACKENDS,}http://127.0.0.1:$p"; done
log "starting the proxy (${PROXY_JAR#"$REPO_DIR/"}) on port $RH_PORT, metrics $RH_METRICS_PORT${PIN_PROXY:+, CPU $PROXY_CPU}"
# shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
env PORT="$RH_PORT" METRICS_PORT="$RH_METRICS_PORT" BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn \
  BACKENDS="$BACKENDS" HEALTH_CHECK_PATH=/ \
  "${PIN_PROXY[@]}" java $JAVA_OPTS -jar "$PROXY_JAR" >"$TMP/proxy/proxy.log" 2>&1 &
PROXY_PID=$!   # env and taskset exec, so this is the java process
PIDS+=( "$PROXY_PID" )
wait_http "http://127.0.0.1:$RH_METRICS_PORT/readyz" "$PROXY_PID" "proxy" "$READY_TIMEOUT" "$TMP/proxy/proxy.log"
got="$(curl -fsS --max-time 5 "http://127.0.0.1:$RH_PORT/")" || die "the proxy did not answer"
[[ "$got" == soak-backend-* ]] || die "unexpected answer from the proxy: ${got:0:200}"
# shellcheck disable=SC2086
echo "proxy JVM ergonomics: $("${PIN_PROXY[@]}" java $JAVA_OPTS -XX:+PrintFlagsFinal -version 2>/dev/null \
  | awk '$2 ~ /^(MaxHeapSize|InitialHeapSize)$/ {printf "%s=%.0fMiB ", $2, $4/1048576} $2 ~ /^Use(Serial|G1|Parallel)GC$/ && $4 == "true" {printf "%s ", $2}')(a JVM started the same way)"

# ----------------------------------------------------------------- soak ---
log "soaking for $DURATION"
set +e
env TARGET_URL="http://127.0.0.1:$RH_PORT/" METRICS_URL="http://127.0.0.1:$RH_METRICS_PORT/metrics" \
  PROXY_PID="$PROXY_PID" RATE="$RATE" CONNECTIONS="$CONNECTIONS" DURATION="$DURATION" \
  SAMPLE_INTERVAL="$SAMPLE_INTERVAL" REQUEST_TIMEOUT="$REQUEST_TIMEOUT" FLAT_TOLERANCE="$FLAT_TOLERANCE" \
  RSS_LIMIT_MIB="$RSS_LIMIT_MIB" FORCE_GC="$FORCE_GC" \
  "${PIN_LOAD[@]}" java -Xmx256m -cp "$BENCH_JAR" dev.roundhouse.bench.soak.Soak
rc=$?
set -e
echo "proxy GC: $(curl -fs "http://127.0.0.1:$RH_METRICS_PORT/metrics" | awk -F'gc="' '/^jvm_gc_pause_seconds_count/ {split($2, a, "\""); print a[1]}' | sort -u | paste -sd, -)"
kill -0 "$PROXY_PID" 2>/dev/null || { log "the proxy is no longer running; last lines of its log:"; tail -n 30 "$TMP/proxy/proxy.log" >&2; rc=2; }
if grep -qiE '"level" *: *"(ERROR|WARN)"|ERROR|WARN' "$TMP/proxy/proxy.log"; then
  echo "proxy log warnings/errors (first 10):"; grep -iE 'ERROR|WARN' "$TMP/proxy/proxy.log" | head -n 10
else
  echo "proxy log: no warnings or errors"
fi
echo "load after: $(uptime)"
exit "$rc"
