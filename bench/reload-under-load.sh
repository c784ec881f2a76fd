#!/usr/bin/env bash
# Reload under load: fixed-rate keep-alive traffic while the pool changes CHANGES times,
# alternating between two pools (default b1,b2 and b1,b2,b3), through:
#   roundhouse-file       Roundhouse, POOL_FILE rewritten atomically (POOL_FILE_POLL_INTERVAL)
#   roundhouse-configmap  Roundhouse, POOL_CONFIGMAP updated on an embedded API server
#   nginx                 nginx, upstream rewritten + `nginx -s reload`
#   haproxy-reload        HAProxy (master-worker), config rewritten + USR2 to the master
#   haproxy-runtime       HAProxy, Runtime API `set server be/<b> state ready|maint` (no reload)
#   control-decoy-file    a control, not a proxy feature: Roundhouse on POOL_FILE as above, but the
#                         driver rewrites a decoy file the proxy does not read. Nothing changes; what
#                         shows is the cost of the write itself in the driver's process (CPU LOAD_CPU)
#   control-decoy-configmap  the same for roundhouse-configmap: the driver updates a second ConfigMap on the
#                         same API server, which the proxy does not watch
# The table's p99/ctl column divides a Roundhouse run's p99 by its control's p99 from the same invocation:
# what the proxy's own reload costs, with the driver's share taken out.
# Replacing the proxies themselves under load (a Deployment's rollout) is bench/rollout-under-load.sh.
# Each target gets a baseline run with the same schedule and no change first, then the run
# with changes; the table compares their p99.
#
# The load is the project's own open-loop generator (dev.roundhouse.bench.reload.ReloadUnderLoad,
# latency measured from each request's due time), one keep-alive connection per thread, no retries.
# Backends: one single-process nginx per backend answering with "X-Backend: <name>", so the client
# sees which backend served each request, and when a change took effect.
#
# CPU layout (2 cores): backends + the proxy on PROXY_CPU; the driver (and the embedded API
# server, for roundhouse-configmap) on LOAD_CPU.
#
# Environment (all optional):
#   TARGETS        default "control-decoy-file roundhouse-file control-decoy-configmap roundhouse-configmap nginx
#                  haproxy-reload haproxy-runtime"
#   RATE           requests per second in total       (default 2000)
#   CONNECTIONS    keep-alive connections              (default 64)
#   CHANGES        pool changes per run, even          (default 100)
#   INTERVAL       time between changes                (default 500ms)
#   SETTLE         run time after the last change      (default 2s)
#   WARMUP         driver warm-up, not counted         (default 3s)
#   POOLS          the pools changes alternate between (default "b1,b2;b1,b2,b3"; backends b1..b3 exist)
#   POLL_INTERVAL  Roundhouse POOL_FILE_POLL_INTERVAL  (default 100ms)
#   JIT_WARMUP     fixed-rate run before measuring Roundhouse, not counted (default 10s at JIT_RATE=5000)
#   RELOAD_WARMUP  changes made after the JIT warm-up, at RATE, not counted (default 10; 0 for none): the first
#                  backend a proxy ever adds after start-up makes the JIT recompile its request path once (~0.3 s of
#                  compilation on the proxy's CPU, seen in a JIT log); this measures reloads after that one-off.
#                  Controls get the same changes, to their decoy
#   ROUNDS         baseline+changes pairs per target   (default 1)
#   TIMEOUT        per request                          (default 2s)
#   PROXY_CPU, LOAD_CPU (1, 0), PROXY_JAR, BENCH_JAR, JAVA_OPTS (proxy JVM), DRIVER_JAVA_OPTS,
#   READY_TIMEOUT, KEEP_TMP=1 (keep configs, logs and driver output, and each request's times: events-*.txt)
#   QUIET_TIMEOUT  seconds to wait before each run for the machine to be under QUIET_BUSY % busy
#                  (default 0: do not wait; the busy % measured before each run is reported anyway)
#
# Needs: java, nginx, haproxy, taskset, curl, python3; the jars from `mvn -B -q -DskipTests package`.
# Output: progress, each driver's report, a table, and RESULT lines.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_NAME=reload
# shellcheck source=lib/under-load.sh
source "$SCRIPT_DIR/lib/under-load.sh"

TARGETS="${TARGETS:-control-decoy-file roundhouse-file control-decoy-configmap roundhouse-configmap nginx haproxy-reload haproxy-runtime}"
RATE="${RATE:-2000}"
CONNECTIONS="${CONNECTIONS:-64}"
CHANGES="${CHANGES:-100}"
INTERVAL="${INTERVAL:-500ms}"
SETTLE="${SETTLE:-2s}"
WARMUP="${WARMUP:-3s}"
POOLS="${POOLS:-b1,b2;b1,b2,b3}"
POLL_INTERVAL="${POLL_INTERVAL:-100ms}"
JIT_WARMUP="${JIT_WARMUP:-10s}"
JIT_RATE="${JIT_RATE:-5000}"
RELOAD_WARMUP="${RELOAD_WARMUP:-10}"
ROUNDS="${ROUNDS:-1}"
TIMEOUT="${TIMEOUT:-2s}"

for t in $TARGETS; do
  case "$t" in roundhouse-file|roundhouse-configmap|nginx|haproxy-reload|haproxy-runtime|control-decoy-file|control-decoy-configmap) ;;
    *) die "unknown target '$t'";; esac
done
[[ "$CHANGES" =~ ^[0-9]+$ ]] && (( CHANGES % 2 == 0 )) || die "CHANGES must be an even number (each run ends on the first pool)"
[[ "$RELOAD_WARMUP" =~ ^[0-9]+$ ]] && (( RELOAD_WARMUP % 2 == 0 )) || die "RELOAD_WARMUP must be an even number (the warm-up ends on the first pool)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
if [[ " $TARGETS " == *" roundhouse"* ]]; then need_jars proxy; else need_jars; fi

read -r -a PORTS < <(free_ports 5)
PROXY_PORT=${PORTS[3]}
METRICS_PORT=${PORTS[4]}
NAMES=(b1 b2 b3)
log "temp dir: $TMP"
log "$(machine_line)"
for i in 0 1 2; do start_backend "${NAMES[$i]}" "${PORTS[$i]}"; done
log "backends: b1=${BACKEND_PORT[b1]} b2=${BACKEND_PORT[b2]} b3=${BACKEND_PORT[b3]} (one nginx process each, CPU $PROXY_CPU); proxy port $PROXY_PORT"

BACKEND_ARGS=()
for n in "${NAMES[@]}"; do BACKEND_ARGS+=( --backend "$n=http://127.0.0.1:${BACKEND_PORT[$n]}" ); done
FIRST_POOL="${POOLS%%;*}"

# "b1,b2" -> the case arms a generated helper uses to turn names into ports
port_case() {
  local n
  for n in "${NAMES[@]}"; do printf '      %s) port=%s ;;\n' "$n" "${BACKEND_PORT[$n]}"; done
}

# ------------------------------------------------------------- targets ---

TARGET_PID=""
MODE_ARGS=()

start_roundhouse() {   # start_roundhouse <file|configmap|decoy|decoy-configmap>
  local how="$1" dir="$TMP/roundhouse-$1"
  mkdir -p "$dir"
  driver reload.ReloadUnderLoad --mode file --write-initial --pool-file "$dir/pool.json" \
    --pools "$POOLS" "${BACKEND_ARGS[@]}"
  local -a envs=( PORT="$PROXY_PORT" METRICS_PORT="$METRICS_PORT" BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn )
  if [[ "$how" == file || "$how" == decoy ]]; then
    envs+=( POOL_FILE="$dir/pool.json" POOL_FILE_POLL_INTERVAL="$POLL_INTERVAL" )
    MODE_ARGS=( --mode file --pool-file "$dir/pool.json" )
    # the decoy lives in another directory: the proxy watches its pool file's directory for events
    [[ "$how" == file ]] || { mkdir -p "$dir/elsewhere"; MODE_ARGS=( --mode file --pool-file "$dir/elsewhere/decoy.json" ); }
  else
    log "starting the embedded API server (CPU $LOAD_CPU)"
    # shellcheck disable=SC2086  # DRIVER_JAVA_OPTS is a word list on purpose
    start_bg "$dir/apiserver.log" taskset -c "$LOAD_CPU" java $DRIVER_JAVA_OPTS -cp "$BENCH_JAR" \
      dev.roundhouse.bench.reload.ApiServerMain --kubeconfig "$dir/kubeconfig" \
      --configmap default/bench-pool --decoy-configmap default/bench-decoy --pool-file "$dir/pool.json"
    API_PID=$STARTED_PID
    local deadline=$(( SECONDS + READY_TIMEOUT ))
    until [[ -s "$dir/kubeconfig" ]]; do
      kill -0 "$API_PID" 2>/dev/null || { cat "$dir/apiserver.log" >&2; die "API server exited"; }
      (( SECONDS < deadline )) || die "API server not ready"
      sleep 0.1
    done
    envs+=( POOL_CONFIGMAP=bench-pool POD_NAMESPACE=default KUBECONFIG="$dir/kubeconfig" )
    MODE_ARGS=( --mode configmap --kubeconfig "$dir/kubeconfig" --configmap default/bench-pool )
    [[ "$how" == configmap ]] || MODE_ARGS=( --mode configmap --kubeconfig "$dir/kubeconfig" --configmap default/bench-decoy )
  fi
  MODE_ARGS+=( --metrics-url "http://127.0.0.1:$METRICS_PORT/metrics" )
  log "starting roundhouse ($how) on CPU $PROXY_CPU"
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  start_bg "$dir/proxy.log" env "${envs[@]}" taskset -c "$PROXY_CPU" java $JAVA_OPTS -jar "$PROXY_JAR"
  TARGET_PID=$STARTED_PID
  wait_http "http://127.0.0.1:$METRICS_PORT/readyz" "$TARGET_PID" "roundhouse" "$READY_TIMEOUT" "$dir/proxy.log"
}

start_nginx() {
  local dir="$TMP/nginx"
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  include $dir/upstream.conf;
  server {
    listen 127.0.0.1:$PROXY_PORT backlog=4096;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
  cat >"$dir/change.sh" <<SH
#!/bin/sh
# change.sh b1,b2,b3: rewrite the upstream block (atomically), then reload nginx
set -e
f="$dir/upstream.conf"
{
  echo "upstream backends {"
  for b in \$(echo "\$1" | tr ',' ' '); do
    case "\$b" in
$(port_case)
      *) echo "unknown backend \$b" >&2; exit 1 ;;
    esac
    echo "  server 127.0.0.1:\$port;"
  done
  echo "  keepalive 512;"
  echo "  keepalive_requests 100000000;"
  echo "}"
} >"\$f.tmp"
mv "\$f.tmp" "\$f"
[ "\${2:-}" = init ] || exec $NGINX_BIN -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" -s reload
SH
  chmod +x "$dir/change.sh"
  "$dir/change.sh" "$FIRST_POOL" init
  log "starting nginx (1 worker) on CPU $PROXY_CPU"
  start_bg "$dir/logs/stdout.log" taskset -c "$PROXY_CPU" \
    "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" -g 'daemon off;'
  TARGET_PID=$STARTED_PID
  wait_http "http://127.0.0.1:$PROXY_PORT/" "$TARGET_PID" "nginx" 15 "$dir/logs/error.log"
  MODE_ARGS=( --mode command --command "$dir/change.sh {pool}" )
}

haproxy_head() {   # the configuration up to the server lines
  local dir="$1"
  cat <<CFG
global
  nbthread 1
  maxconn 4096
  stats socket $dir/admin.sock mode 600 level admin expose-fd listeners
  hard-stop-after 30s

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 300s
  maxconn 4096

frontend fe
  bind 127.0.0.1:$PROXY_PORT
  default_backend be

backend be
  balance roundrobin
CFG
}

start_haproxy() {   # start_haproxy <reload|runtime>
  local how="$1" dir="$TMP/haproxy-$1"
  mkdir -p "$dir"
  haproxy_head "$dir" >"$dir/head.cfg"
  if [[ "$how" == reload ]]; then
    cat >"$dir/change.sh" <<SH
#!/bin/sh
# change.sh b1,b2,b3: rewrite the configuration (atomically), then USR2 to the master (reload)
set -e
f="$dir/haproxy.cfg"
{
  cat "$dir/head.cfg"
  for b in \$(echo "\$1" | tr ',' ' '); do
    case "\$b" in
$(port_case)
      *) echo "unknown backend \$b" >&2; exit 1 ;;
    esac
    echo "  server \$b 127.0.0.1:\$port"
  done
} >"\$f.tmp"
mv "\$f.tmp" "\$f"
[ "\${2:-}" = init ] || kill -USR2 "\$(cat "$dir/haproxy.pid")"
SH
    chmod +x "$dir/change.sh"
    "$dir/change.sh" "$FIRST_POOL" init
    MODE_ARGS=( --mode command --command "$dir/change.sh {pool}" )
  else
    {
      cat "$dir/head.cfg"
      local n
      for n in "${NAMES[@]}"; do
        if [[ ",$FIRST_POOL," == *",$n,"* ]]; then
          echo "  server $n 127.0.0.1:${BACKEND_PORT[$n]}"
        else
          echo "  server $n 127.0.0.1:${BACKEND_PORT[$n]} disabled"
        fi
      done
    } >"$dir/haproxy.cfg"
    MODE_ARGS=( --mode haproxy-runtime --socket "$dir/admin.sock" --haproxy-backend be )
  fi
  "$HAPROXY_BIN" -c -q -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; die "haproxy config check failed"; }
  log "starting haproxy (master-worker, nbthread 1) on CPU $PROXY_CPU"
  start_bg "$dir/haproxy.log" taskset -c "$PROXY_CPU" "$HAPROXY_BIN" -W -db -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid"
  TARGET_PID=$STARTED_PID
  wait_http "http://127.0.0.1:$PROXY_PORT/" "$TARGET_PID" "haproxy" 15 "$dir/haproxy.log"
}

start_target() {
  case "$1" in
    roundhouse-file) start_roundhouse file ;;
    roundhouse-configmap) start_roundhouse configmap ;;
    nginx) start_nginx ;;
    haproxy-reload) start_haproxy reload ;;
    haproxy-runtime) start_haproxy runtime ;;
    control-decoy-file) start_roundhouse decoy ;;
    control-decoy-configmap) start_roundhouse decoy-configmap ;;
  esac
}

stop_target() {
  stop_started "$TARGET_PID"
  if [[ -n "${API_PID:-}" ]]; then stop_started "$API_PID"; API_PID=""; fi
}

# ------------------------------------------------------------- running ---

RESULTS="$TMP/results.txt"   # target round kind load1/busy% RESULT-fields
: >"$RESULTS"

run_driver() {   # run_driver <target> <round> <base|changes>
  local target="$1" round="$2" kind="$3" out="$TMP/driver-$1-r$2-$3.txt" load1
  local -a extra=()
  [[ "$kind" == base ]] && extra=( --no-changes )
  # with KEEP_TMP=1, every request's times too, for analysis by second of the run
  [[ "$KEEP_TMP" == 1 ]] && extra+=( --events-out "$TMP/events-$1-r$2-$3.txt" )
  wait_quiet
  load1="$(loadavg)"
  log "$target round $round: $kind run (load average before: $load1; CPUs ${BUSY_BEFORE}% busy over 2 s)"
  others_begin
  driver reload.ReloadUnderLoad "${MODE_ARGS[@]}" "${extra[@]}" --url "http://127.0.0.1:$PROXY_PORT/" \
    --rate "$RATE" --connections "$CONNECTIONS" --changes "$CHANGES" --interval "$INTERVAL" \
    --settle "$SETTLE" --warmup "$WARMUP" --timeout "$TIMEOUT" --pools "$POOLS" "${BACKEND_ARGS[@]}" \
    --label "$target" >"$out" 2>&1 || { cat "$out" >&2; die "driver failed for $target"; }
  local others
  others="$(others_end)"
  cat "$out" >&2
  log "other work on the machine during the run: ${others}% of all CPUs"
  kill -0 "$TARGET_PID" 2>/dev/null || die "$target exited during the run"
  local result
  result="$(grep '^RESULT ' "$out" | tail -n 1)" || die "no RESULT line from the driver"
  echo "$target $round $kind ${load1%% *}/${BUSY_BEFORE}%/${others}% ${result#RESULT }" >>"$RESULTS"
}

for target in $TARGETS; do
  start_target "$target"
  if [[ "$target" == roundhouse-* || "$target" == control-* ]]; then
    log "JIT warm-up of roundhouse: $JIT_WARMUP at $JIT_RATE req/s (not measured)"
    driver load.FixedRate --url "http://127.0.0.1:$PROXY_PORT/" --rate "$JIT_RATE" --connections "$CONNECTIONS" \
      --duration "$JIT_WARMUP" --warmup 1s >"$TMP/jit-$target.txt" 2>&1 || { cat "$TMP/jit-$target.txt" >&2; die "warm-up failed"; }
    if (( RELOAD_WARMUP > 0 )); then
      log "reload warm-up of roundhouse: $RELOAD_WARMUP changes (not measured)"
      driver reload.ReloadUnderLoad "${MODE_ARGS[@]}" --url "http://127.0.0.1:$PROXY_PORT/" \
        --rate "$RATE" --connections "$CONNECTIONS" --changes "$RELOAD_WARMUP" --interval "$INTERVAL" \
        --settle 1s --warmup 1s --timeout "$TIMEOUT" --pools "$POOLS" "${BACKEND_ARGS[@]}" \
        --label "$target-reload-warmup" >"$TMP/reload-warmup-$target.txt" 2>&1 \
        || { cat "$TMP/reload-warmup-$target.txt" >&2; die "reload warm-up failed"; }
    fi
  else
    driver load.FixedRate --url "http://127.0.0.1:$PROXY_PORT/" --rate "$RATE" --connections "$CONNECTIONS" \
      --duration 2s --warmup 1s >"$TMP/prime-$target.txt" 2>&1 || { cat "$TMP/prime-$target.txt" >&2; die "priming failed"; }
  fi
  for (( r = 1; r <= ROUNDS; r++ )); do
    run_driver "$target" "$r" base
    run_driver "$target" "$r" changes
  done
  if [[ "$target" == haproxy-reload ]]; then
    # old workers that ended abnormally during the reloads (the master logs each one)
    # what the master says: reloads it did (USR2s that arrive during a reload are lost), and old
    # workers that did not exit cleanly (crashes)
    reloads="$(grep -c 'Reloading HAProxy' "$TMP/haproxy-reload/haproxy.log" || true)"
    crashes="$(grep 'Former worker' "$TMP/haproxy-reload/haproxy.log" | grep -vc 'exited with code 0' || true)"
    log "haproxy-reload: the master reloaded ${reloads:-0} times for $(( CHANGES * ROUNDS )) USR2s sent; former workers that did not exit cleanly: ${crashes:-0}"
    echo "$target - note - reloads_done=${reloads:-0} usr2_sent=$(( CHANGES * ROUNDS )) abnormal_worker_exits=${crashes:-0}" >>"$RESULTS"
  fi
  stop_target
done

# -------------------------------------------------------------- report ---

field() {   # field <line> <key>
  awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' <<<"$1"
}

echo
echo "Reload under load: $RATE req/s over $CONNECTIONS keep-alive connections; $CHANGES changes every $INTERVAL between pools ${POOLS//;/ and };"
echo "latency from each request's due time, over the measured window (warm-up $WARMUP excluded); proxy + backends on CPU $PROXY_CPU, driver on CPU $LOAD_CPU"
echo "$(machine_line); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
printf '%-23s %-5s %-14s %7s %6s %6s %8s %8s %8s %9s %7s %7s %14s %16s %7s %7s\n' \
  target round load/busy/oth failed stale reopen p50_ms p99_ms p999_ms max_ms p99/base p99/ctl "p99 near/far" "add_p50/p99/max" rm_p99 cmd_p50
while read -r target round kind load1 rest; do
  [[ "$kind" == changes ]] || continue
  base="$(awk -v t="$target" -v r="$round" '$1 == t && $2 == r && $3 == "base"' "$RESULTS")"
  line="$rest"
  bp99="$(field "$base" p99)"; p99="$(field "$line" p99)"
  ratio="$(awk -v a="$p99" -v b="$bp99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
  # the control of a Roundhouse target: the same driver work, with the proxy not seeing the changes
  ctl="-"
  case "$target" in roundhouse-file) ctl=control-decoy-file ;; roundhouse-configmap) ctl=control-decoy-configmap ;; esac
  if [[ "$ctl" != - ]]; then
    cp99="$(field "$(awk -v t="$ctl" -v r="$round" '$1 == t && $2 == r && $3 == "changes"' "$RESULTS")" p99)"
    ctl="$(awk -v a="$p99" -v b="$cp99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
  fi
  printf '%-23s %-5s %-14s %7s %6s %6s %8s %8s %8s %9s %7s %7s %14s %16s %7s %7s\n' "$target" "$round" "$load1" \
    "$(field "$line" failed)" "$(field "$line" stale)" "$(field "$line" reopens)" "$(field "$line" p50)" "$p99" \
    "$(field "$line" p999)" "$(field "$line" max)" "$ratio" "$ctl" "$(printf '%.1f/%.1f' "$(field "$line" near_p99)" "$(field "$line" far_p99)")" \
    "$(field "$line" add_p50)/$(field "$line" add_p99)/$(field "$line" add_max)" "$(field "$line" rm_p99)" "$(field "$line" apply_p50)"
  printf '%-23s %-5s %-14s %7s %6s %6s %8s %8s %8s %9s %7s\n' "  (baseline)" "$round" "$(awk '{print $4}' <<<"$base")" \
    "$(field "$base" failed)" "$(field "$base" stale)" "$(field "$base" reopens)" "$(field "$base" p50)" "$bp99" \
    "$(field "$base" p999)" "$(field "$base" max)" "1.00"
done <"$RESULTS"
grep ' note ' "$RESULTS" | sed 's/^/note: /' || true
echo
echo "load/busy/oth = 1-minute load average and % of both CPUs busy over 2 s, just before the run; % of both CPUs that other work"
echo "  (not this benchmark's processes) used during the run. Others build and test on this machine too;"
echo "failed = requests without a 2xx/3xx response (stale = the server closed a used keep-alive connection and the request got no byte back);"
echo "reopen = connections the client had to open again; add = ms from the write to the first response from the backend the change added;"
echo "rm_p99 = ms from the write to the last request the removed backend still got; cmd = ms the write or reload command took;"
echo "p99/ctl = p99 over the p99 of the control run that makes the same writes where the proxy does not look (the driver's own cost);"
echo "p99 near/far = p99 (ms) of the requests due within min(INTERVAL/2, 250 ms) after a change / of all the others, same run."
echo
while read -r target round kind load1 rest; do
  [[ "$kind" == note ]] && continue
  echo "RESULT target=$target round=$round kind=$kind load_busy_others=$load1 $rest"
done <"$RESULTS"
