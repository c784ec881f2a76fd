#!/usr/bin/env bash
# Failover under load: three backends behind a proxy at a fixed rate; one backend (a real
# process: a single-process nginx) is killed with SIGKILL mid-run (the driver sends the signal
# itself, to the pid in the backend's pid file, so the kill time has no shell start-up in it)
# and started again later (the same nginx command line; it returns once it listens).
# A fourth backend is blackholed at BLACKHOLE_AT: its process is killed and its port taken by a
# listener that never accepts (queue filled), so connects to it hang until the proxy's connect
# timeout, as behind a firewall dropping packets. Reported: the requests that paid that timeout.
# Reports the failed requests the client saw, latency around the kill, when the killed backend
# left rotation (the proxy's own signals: Roundhouse's roundhouse_backends_healthy gauge, its
# breaker and failed attempts; HAProxy's server status from the Runtime API) and when it served
# again after the restart (first response with its X-Backend header).
#
# Targets:
#   roundhouse  BACKENDS=b1..b4, HEALTH_CHECK_INTERVAL=1s (thresholds 3 down / 2 up, defaults),
#               CONNECT_TIMEOUT, breakers (3 consecutive connect failures open one) and CONNECT_RETRIES
#               at their defaults
#   nginx       upstream of the three, passive checks at their defaults (max_fails=1 fail_timeout=10s),
#               proxy_next_upstream error timeout (default), proxy_connect_timeout CONNECT_TIMEOUT
#   haproxy     `check inter 1s fall 3 rise 2`, retries 2, option redispatch 1,
#               retry-on conn-failure empty-response (retries like Roundhouse's: connect failures, and
#               GETs whose connection broke before any response), timeout connect CONNECT_TIMEOUT,
#               observe layer4 error-limit 3 on-error mark-down (its counterpart of Roundhouse's
#               consecutive connect failures)
#
# CPU layout (2 cores): backends + proxy on PROXY_CPU, the driver on LOAD_CPU.
#
# Environment (all optional):
#   TARGETS       default "roundhouse nginx haproxy"
#   RATE          req/s in total (default 2000)       CONNECTIONS   (default 64)
#   DURATION      whole run (default 30s)             WARMUP        not counted (default 3s)
#   KILL_AT       (default 10s)                       RESTART_AT    (default 20s)
#   BLACKHOLE_AT  (default 14s; "off": three backends, no blackhole)
#   CONNECT_TIMEOUT  every proxy's connect timeout (default 1s)
#   HEALTH_CHECK_INTERVAL  Roundhouse's and HAProxy's check interval (default 1s)
#   JIT_WARMUP, JIT_RATE   fixed-rate run before Roundhouse is measured (default 10s at 5000)
#   POLL          how often the proxy's signals are read (default 50ms)
#   TIMEOUT       per request (default 2s)
#   PROXY_CPU, LOAD_CPU, PROXY_JAR, BENCH_JAR, JAVA_OPTS, DRIVER_JAVA_OPTS, READY_TIMEOUT, KEEP_TMP=1
#   QUIET_TIMEOUT, QUIET_BUSY  wait before each run for the machine to be quiet (see lib/under-load.sh)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_NAME=failover
# shellcheck source=lib/under-load.sh
source "$SCRIPT_DIR/lib/under-load.sh"

TARGETS="${TARGETS:-roundhouse nginx haproxy}"
RATE="${RATE:-2000}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-3s}"
KILL_AT="${KILL_AT:-10s}"
RESTART_AT="${RESTART_AT:-20s}"
HEALTH_CHECK_INTERVAL="${HEALTH_CHECK_INTERVAL:-1s}"
JIT_WARMUP="${JIT_WARMUP:-10s}"
JIT_RATE="${JIT_RATE:-5000}"
POLL="${POLL:-50ms}"
TIMEOUT="${TIMEOUT:-2s}"
BLACKHOLE_AT="${BLACKHOLE_AT:-14s}"
CONNECT_TIMEOUT="${CONNECT_TIMEOUT:-1s}"

for t in $TARGETS; do
  case "$t" in roundhouse|nginx|haproxy) ;; *) die "unknown target '$t'";; esac
done
if [[ " $TARGETS " == *" roundhouse "* ]]; then need_jars proxy; else need_jars; fi

read -r -a PORTS < <(free_ports 6)
PROXY_PORT=${PORTS[4]}
METRICS_PORT=${PORTS[5]}
NAMES=(b1 b2 b3)
[[ "$BLACKHOLE_AT" == off ]] || NAMES+=(b4)
VICTIM=b3
HOLE=b4
log "temp dir: $TMP"
log "$(machine_line)"
for i in "${!NAMES[@]}"; do start_backend "${NAMES[$i]}" "${PORTS[$i]}"; done
log "backends: $(for n in "${NAMES[@]}"; do printf '%s=%s ' "$n" "${BACKEND_PORT[$n]}"; done)(one nginx process each, CPU $PROXY_CPU); victim $VICTIM${BLACKHOLE_AT:+, blackholed $HOLE at $BLACKHOLE_AT}"
VICTIM_PIDFILE="$TMP/backend-$VICTIM/nginx.pid"
RESTART_CMD="$(backend_start_cmd "$VICTIM")"
BLACKHOLE_ARGS=()
if [[ "$BLACKHOLE_AT" != off ]]; then
  HOLE_RESTART_CMD="$(backend_start_cmd "$HOLE")"
  BLACKHOLE_ARGS=( --blackhole-at "$BLACKHOLE_AT" --blackhole-pidfile "$TMP/backend-$HOLE/nginx.pid"
    --blackhole-port "${BACKEND_PORT[$HOLE]}" --connect-timeout "$CONNECT_TIMEOUT" )
fi

TARGET_PID=""
DRIVER_EXTRA=()

start_roundhouse() {
  local dir="$TMP/roundhouse" urls="" n
  mkdir -p "$dir"
  for n in "${NAMES[@]}"; do urls+="${urls:+,}http://127.0.0.1:${BACKEND_PORT[$n]}"; done
  log "starting roundhouse on CPU $PROXY_CPU (HEALTH_CHECK_INTERVAL=$HEALTH_CHECK_INTERVAL)"
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  start_bg "$dir/proxy.log" env PORT="$PROXY_PORT" METRICS_PORT="$METRICS_PORT" BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info \
    BACKENDS="$urls" HEALTH_CHECK_PATH=/ HEALTH_CHECK_INTERVAL="$HEALTH_CHECK_INTERVAL" CONNECT_TIMEOUT="$CONNECT_TIMEOUT" \
    taskset -c "$PROXY_CPU" java $JAVA_OPTS -jar "$PROXY_JAR"
  TARGET_PID=$STARTED_PID
  wait_http "http://127.0.0.1:$METRICS_PORT/readyz" "$TARGET_PID" roundhouse "$READY_TIMEOUT" "$dir/proxy.log"
  DRIVER_EXTRA=( --metrics-url "http://127.0.0.1:$METRICS_PORT/metrics" --victim-url "http://127.0.0.1:${BACKEND_PORT[$VICTIM]}" )
}

start_nginx() {
  local dir="$TMP/nginx" n
  mkdir -p "$dir/logs"
  {
    cat <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  upstream backends {
CONF
    for n in "${NAMES[@]}"; do echo "    server 127.0.0.1:${BACKEND_PORT[$n]};"; done
    cat <<CONF
    keepalive 512;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT backlog=4096;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout $CONNECT_TIMEOUT;
    }
  }
}
CONF
  } >"$dir/nginx.conf"
  log "starting nginx (1 worker) on CPU $PROXY_CPU"
  start_bg "$dir/logs/stdout.log" taskset -c "$PROXY_CPU" \
    "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" -g 'daemon off;'
  TARGET_PID=$STARTED_PID
  wait_http "http://127.0.0.1:$PROXY_PORT/" "$TARGET_PID" nginx 15 "$dir/logs/error.log"
  DRIVER_EXTRA=()
}

start_haproxy() {
  local dir="$TMP/haproxy" n
  mkdir -p "$dir"
  {
    cat <<CFG
global
  nbthread 1
  maxconn 4096
  stats socket $dir/admin.sock mode 600 level admin

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect $CONNECT_TIMEOUT
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 300s
  maxconn 4096
  retries 2
  option redispatch 1
  retry-on conn-failure empty-response

frontend fe
  bind 127.0.0.1:$PROXY_PORT
  default_backend be

backend be
  balance roundrobin
  option httpchk GET /
CFG
    for n in "${NAMES[@]}"; do echo "  server $n 127.0.0.1:${BACKEND_PORT[$n]} check inter $HEALTH_CHECK_INTERVAL fall 3 rise 2 observe layer4 error-limit 3 on-error mark-down"; done
  } >"$dir/haproxy.cfg"
  "$HAPROXY_BIN" -c -q -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; die "haproxy config check failed"; }
  log "starting haproxy (nbthread 1) on CPU $PROXY_CPU"
  start_bg "$dir/haproxy.log" taskset -c "$PROXY_CPU" "$HAPROXY_BIN" -db -f "$dir/haproxy.cfg"
  TARGET_PID=$STARTED_PID
  wait_http "http://127.0.0.1:$PROXY_PORT/" "$TARGET_PID" haproxy 15 "$dir/haproxy.log"
  DRIVER_EXTRA=( --haproxy-socket "$dir/admin.sock" --haproxy-server "be/$VICTIM" )
}

RESULTS="$TMP/results.txt"
: >"$RESULTS"

for target in $TARGETS; do
  # the victim is up at the start of every run (the previous run restarted it)
  curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:${BACKEND_PORT[$VICTIM]}/" || $RESTART_CMD
  if [[ "$BLACKHOLE_AT" != off ]]; then
    curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:${BACKEND_PORT[$HOLE]}/" || $HOLE_RESTART_CMD
  fi
  "start_$target"
  if [[ "$target" == roundhouse ]]; then
    log "JIT warm-up of roundhouse: $JIT_WARMUP at $JIT_RATE req/s (not measured)"
    driver load.FixedRate --url "http://127.0.0.1:$PROXY_PORT/" --rate "$JIT_RATE" --connections "$CONNECTIONS" \
      --duration "$JIT_WARMUP" --warmup 1s >"$TMP/jit.txt" 2>&1 || { cat "$TMP/jit.txt" >&2; die "warm-up failed"; }
  fi
  sleep 2   # health checks settle after the warm-up
  wait_quiet
  load1="$(loadavg)"
  log "$target: $DURATION at $RATE req/s, kill $VICTIM at $KILL_AT, restart at $RESTART_AT (load average before: $load1; CPUs ${BUSY_BEFORE}% busy over 2 s)"
  out="$TMP/driver-$target.txt"
  others_begin
  driver load.FailoverUnderLoad --url "http://127.0.0.1:$PROXY_PORT/" --rate "$RATE" --connections "$CONNECTIONS" \
    --duration "$DURATION" --warmup "$WARMUP" --timeout "$TIMEOUT" --victim "$VICTIM" \
    --kill-at "$KILL_AT" --kill-pidfile "$VICTIM_PIDFILE" --restart-at "$RESTART_AT" --restart-cmd "$RESTART_CMD" \
    --poll "$POLL" --label "$target" "${BLACKHOLE_ARGS[@]}" "${DRIVER_EXTRA[@]}" >"$out" 2>&1 || { cat "$out" >&2; die "driver failed for $target"; }
  others="$(others_end)"
  cat "$out" >&2
  log "other work on the machine during the run: ${others}% of all CPUs"
  kill -0 "$TARGET_PID" 2>/dev/null || die "$target exited during the run"
  echo "$target ${load1%% *}/${BUSY_BEFORE}%/${others}% $(grep '^RESULT ' "$out" | tail -n 1 | sed 's/^RESULT //')" >>"$RESULTS"
  stop_started "$TARGET_PID"
done

field() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' <<<"$1"; }

echo
echo "Failover under load: $RATE req/s over $CONNECTIONS keep-alive connections for $DURATION; backend $VICTIM killed (SIGKILL) at $KILL_AT, restarted at $RESTART_AT;"
echo "health checks every $HEALTH_CHECK_INTERVAL (Roundhouse, HAProxy); proxy + backends on CPU $PROXY_CPU, driver on CPU $LOAD_CPU"
echo "$(machine_line); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
printf '%-11s %14s %7s %-34s %8s %8s %9s %9s %8s %8s %9s %9s\n' target load/busy/oth failed "by type" p99_ms "p99<kill" "p99>kill" "max>kill" out_ms in_ms return_ms paid_ct
while read -r target load1 rest; do
  types="status=$(field "$rest" status) timeout=$(field "$rest" timeout) stale=$(field "$rest" stale) io=$(field "$rest" io) conn=$(field "$rest" connect)"
  printf '%-11s %14s %7s %-34s %8s %8s %9s %9s %8s %8s %9s %9s\n' "$target" "$load1" "$(field "$rest" failed)" "$types" \
    "$(field "$rest" p99)" "$(field "$rest" before_p99)" "$(field "$rest" after_p99)" "$(field "$rest" after_max)" \
    "$(field "$rest" out_ms)" "$(field "$rest" in_ms)" "$(field "$rest" return_ms)" "$(field "$rest" paid_connect)"
done <"$RESULTS"
echo
echo "load/busy/oth: 1-minute load average and % of both CPUs busy over 2 s, just before the run; % of both CPUs other work"
echo "  (not this benchmark's processes) used during the run (others build and test on this machine too);"
echo "p99<kill / p99>kill / max>kill: latency (ms, from due time) of requests due in the 5 s before / after the kill;"
echo "out_ms: kill -> the proxy's signal that $VICTIM is out (Roundhouse: roundhouse_backends_healthy drops; HAProxy: status DOWN; nginx: none);"
echo "in_ms: restart -> the signal that it is back; return_ms: restart -> first response served by $VICTIM. Signals polled every $POLL."
echo "paid_ct: requests due from the blackholing of $HOLE (at $BLACKHOLE_AT) to the restart that took $CONNECT_TIMEOUT x 0.9 or more, or failed"
echo "  (connects to $HOLE hang: each such request waited for a connect timeout before going elsewhere)."
echo
while read -r target load1 rest; do echo "RESULT target=$target load_busy_others=$load1 $rest"; done <"$RESULTS"
