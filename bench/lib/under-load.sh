# shellcheck shell=bash
# Shared by bench/reload-under-load.sh and bench/failover-under-load.sh (sourced, not run):
# checks, a temp dir cleaned up on exit, free loopback ports, nginx backends that name
# themselves in an X-Backend header, and helpers to start and wait for processes.
#
# The sourcing script sets SCRIPT_DIR and REPO_DIR first. Everything started here is
# recorded and stopped on exit, by process id (PIDS) or by the pid file it wrote (PIDFILES).

PROXY_CPU="${PROXY_CPU:-1}"
LOAD_CPU="${LOAD_CPU:-0}"
PROXY_JAR="${PROXY_JAR:-$REPO_DIR/proxy/target/roundhouse-proxy.jar}"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
JAVA_OPTS="${JAVA_OPTS:-}"
DRIVER_JAVA_OPTS="${DRIVER_JAVA_OPTS:--Xms256m -Xmx1g -XX:+UseSerialGC}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
KEEP_TMP="${KEEP_TMP:-0}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
HAPROXY_BIN="${HAPROXY_BIN:-/usr/sbin/haproxy}"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool not found: $1"; }
find_bin() {   # find_bin <preferred path> <name>: that path if executable, else <name> from PATH
  if [[ -x "$1" ]]; then echo "$1"; else command -v "$2" 2>/dev/null || die "required tool not found: $2"; fi
}
NGINX_BIN="$(find_bin "$NGINX_BIN" nginx)"
HAPROXY_BIN="$(find_bin "$HAPROXY_BIN" haproxy)"
for t in taskset curl awk java python3 mktemp timeout pgrep; do need "$t"; done

NCPU="$(nproc --all 2>/dev/null || nproc)"
for cpu in "$PROXY_CPU" "$LOAD_CPU"; do
  [[ "$cpu" =~ ^[0-9]+$ ]] && (( cpu < NCPU )) || die "CPU '$cpu' not available (nproc=$NCPU)"
done

need_jars() {   # need_jars [proxy]: the bench driver jar always, the proxy jar when asked
  local missing=0
  [[ -f "$BENCH_JAR" ]] || { log "bench driver jar not found: $BENCH_JAR"; missing=1; }
  if [[ "${1:-}" == proxy && ! -f "$PROXY_JAR" ]]; then log "proxy jar not found: $PROXY_JAR"; missing=1; fi
  (( missing == 0 )) || die "build first: (cd $REPO_DIR && mvn -B -q -DskipTests package)"
}

# --------------------------------------------------------------- temp dir ---

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roundhouse-${BENCH_NAME:-bench}.XXXXXX")"
PIDS=()       # processes started in the foreground (start_bg)
PIDFILES=()   # daemons (the backends): stopped by the pid in their pid file

stop_pid() {   # stop_pid <pid>: TERM, a bounded wait, then KILL
  local p="$1" i
  kill -TERM "$p" 2>/dev/null || return 0
  for (( i = 0; i < 50; i++ )); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

stop_pidfile() {   # stop_pidfile <file>: stop the process its pid names, if any
  local f="$1" p
  [[ -s "$f" ]] || return 0
  p="$(cat "$f" 2>/dev/null)" || return 0
  [[ "$p" =~ ^[0-9]+$ ]] && stop_pid "$p"
  rm -f "$f"
}

cleanup() {
  local rc=$? p f
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; wait "$p" 2>/dev/null || true; done
  for f in "${PIDFILES[@]}"; do stop_pidfile "$f"; done
  if [[ "$KEEP_TMP" == 1 ]]; then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_bg() {   # start_bg <logfile> <cmd...>; sets STARTED_PID
  local logf="$1"; shift
  "$@" >"$logf" 2>&1 &
  STARTED_PID=$!
  PIDS+=( "$STARTED_PID" )
}

stop_started() {   # stop_started <pid>: stop one process started with start_bg, and forget it
  local p="$1" i
  stop_pid "$p"
  wait "$p" 2>/dev/null || true
  for i in "${!PIDS[@]}"; do [[ "${PIDS[$i]}" == "$p" ]] && unset 'PIDS[i]'; done
}

# ------------------------------------------------------------------ ports ---

free_ports() {   # free_ports <n>: n distinct free loopback ports, space-separated
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

wait_http() {   # wait_http <url> <pid or -> <name> <timeout_s> <logfile>
  local url="$1" pid="$2" name="$3" timeout_s="$4" logf="$5"
  local deadline=$(( SECONDS + timeout_s ))
  while (( SECONDS < deadline )); do
    if [[ "$pid" != - ]] && ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logf" >&2 || true
      die "$name exited during start-up"
    fi
    curl -fs -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.1
  done
  tail -n 30 "$logf" >&2 || true
  die "$name did not become ready at $url"
}

# --------------------------------------------------------------- backends ---

# Each backend is its own single-process nginx (master_process off, daemonised, pid file),
# pinned to PROXY_CPU, answering every path with 200, a 100-byte body and "X-Backend: <name>".
# One process per backend, so that killing it is killing the backend.
declare -A BACKEND_PORT
BACKEND_BODY="$(printf 'roundhouse-bench-%083d' 0)"

backend_conf() {   # backend_conf <name> <port> -> path of its config
  local name="$1" port="$2" dir="$TMP/backend-$1"
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type text/plain;
  server {
    listen 127.0.0.1:$port backlog=4096;
    add_header X-Backend $name always;
    location / { return 200 "$BACKEND_BODY"; }
  }
}
CONF
  echo "$dir/nginx.conf"
}

# The command line that starts backend <name> (daemonises, so it returns once listening).
backend_start_cmd() {
  local dir="$TMP/backend-$1"
  echo "taskset -c $PROXY_CPU $NGINX_BIN -p $dir -c $dir/nginx.conf -e $dir/logs/error.log"
}

start_backend() {   # start_backend <name> <port>
  local name="$1" port="$2" dir="$TMP/backend-$1"
  backend_conf "$name" "$port" >/dev/null
  BACKEND_PORT[$name]=$port
  PIDFILES+=( "$dir/nginx.pid" )
  $(backend_start_cmd "$name") || die "backend $name failed to start (see $dir/logs/error.log)"
  wait_http "http://127.0.0.1:$port/" - "backend $name" 15 "$dir/logs/error.log"
}

# -------------------------------------------------------------- the driver ---

driver() {   # driver <main class (under dev.roundhouse.bench)> <args...>: the Java driver on LOAD_CPU
  local main="$1"; shift
  # shellcheck disable=SC2086  # DRIVER_JAVA_OPTS is a word list on purpose
  taskset -c "$LOAD_CPU" java $DRIVER_JAVA_OPTS -cp "$BENCH_JAR" "dev.roundhouse.bench.$main" "$@"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

cpu_busy_pct() {   # cpu_busy_pct [seconds]: percent of all CPUs busy (not idle or iowait) over that time
  local -a a b
  read -r -a a < <(head -n 1 /proc/stat)
  sleep "${1:-1}"
  read -r -a b < <(head -n 1 /proc/stat)
  local i ta=0 tb=0
  for (( i = 1; i <= 8; i++ )); do ta=$(( ta + a[i] )); tb=$(( tb + b[i] )); done
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=$(( tb - ta ))
  (( total > 0 )) || { echo 0; return; }
  echo $(( 100 * (total - idle) / total ))
}

# How much of the machine other work used during a run: all CPU time spent (from /proc/stat)
# minus what our own processes spent (the shell with the children it reaped, e.g. the driver; every
# process in PIDS with its descendants and their reaped children; the backends by pid file).
# others_begin before the run, others_end after it prints the percent of all CPUs.
proc_ticks() {   # proc_ticks <pid>: utime+stime+cutime+cstime, 0 if gone
  local stat rest
  local -a f
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  rest="${stat##*) }"
  read -r -a f <<<"$rest"
  echo $(( f[11] + f[12] + f[13] + f[14] ))
}
tree_ticks() {   # tree_ticks <pid>: proc_ticks of the process and all its live descendants
  local total c
  total="$(proc_ticks "$1")"
  for c in $(pgrep -P "$1" 2>/dev/null || true); do total=$(( total + $(tree_ticks "$c") )); done
  echo "$total"
}
own_ticks() {
  local total p f
  total="$(proc_ticks $$)"
  for p in "${PIDS[@]}"; do total=$(( total + $(tree_ticks "$p") )); done
  for f in "${PIDFILES[@]}"; do
    [[ -s "$f" ]] && p="$(cat "$f" 2>/dev/null)" && [[ "$p" =~ ^[0-9]+$ ]] && total=$(( total + $(proc_ticks "$p") ))
  done
  echo "$total"
}
sys_ticks() {   # "<busy> <total>" CPU ticks over all CPUs since boot
  local -a a
  local i t=0
  read -r -a a < <(head -n 1 /proc/stat)
  for (( i = 1; i <= 8; i++ )); do t=$(( t + a[i] )); done
  echo "$(( t - a[4] - a[5] )) $t"
}
others_begin() { OTHERS_SYS0="$(sys_ticks)"; OTHERS_OWN0="$(own_ticks)"; }
others_end() {
  local b0 t0 b1 t1 own1
  read -r b0 t0 <<<"$OTHERS_SYS0"
  read -r b1 t1 < <(sys_ticks)
  own1="$(own_ticks)"
  awk -v b=$(( b1 - b0 )) -v t=$(( t1 - t0 )) -v o=$(( own1 - OTHERS_OWN0 )) \
    'BEGIN { v = t > 0 ? 100 * (b - o) / t : 0; if (v < 0) v = 0; printf "%.0f\n", v }'
}

# Others share this machine. With QUIET_TIMEOUT > 0, wait_quiet waits (up to that many seconds)
# until the CPUs are less than QUIET_BUSY percent busy over 2 s while our own processes idle,
# and says when it gave up. Either way it sets BUSY_BEFORE (the last sample) for the report.
QUIET_BUSY="${QUIET_BUSY:-10}"
QUIET_TIMEOUT="${QUIET_TIMEOUT:-0}"
wait_quiet() {
  local deadline=$(( SECONDS + QUIET_TIMEOUT ))
  BUSY_BEFORE="$(cpu_busy_pct 2)"
  while (( BUSY_BEFORE >= QUIET_BUSY && SECONDS < deadline )); do
    log "machine ${BUSY_BEFORE}% busy with other work (load $(loadavg)); waiting for < ${QUIET_BUSY}%"
    sleep 5
    BUSY_BEFORE="$(cpu_busy_pct 2)"
  done
  (( BUSY_BEFORE < QUIET_BUSY )) || (( QUIET_TIMEOUT == 0 )) || log "gave up waiting: ${BUSY_BEFORE}% busy"
}

machine_line() {
  local model
  model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "machine: nproc=$NCPU, CPU '${model:-unknown}', $(uname -sr), $(java -version 2>&1 | head -n 1)"
}
