#!/usr/bin/env bash
# Roundhouse vs. nginx vs. HAProxy: same two backends, same load, same CPU.
#
# Three reverse proxies are set up the same way (round-robin over two nginx
# backends that return a fixed 100-byte body, keep-alive to the backends,
# no access logs, one worker/thread) and loaded one after another with wrk.
# Targets are interleaved within each round so slow drift on the machine
# (thermal, noisy neighbours) is spread over all of them.
#
# CPU layout (2 cores): backends + the proxy under test on PROXY_CPU,
# wrk (-t1) on LOAD_CPU.
#
# Environment (all optional):
#   TARGETS      targets to run, in order        (default "nginx haproxy roundhouse"). Two more, for the
#                server floor (what answering costs before any forwarding): nginx-static (nginx answering
#                the backends' response itself) and undertow-floor (Roundhouse's own server, the same
#                Undertow listener and settings, answering itself: dev.roundhouse.bench.floor.ServerFloor
#                in BENCH_JAR, run with JAVA_OPTS and warmed up as Roundhouse), and fastpath-floor (the
#                same XNIO worker with no Undertow server: heads read by the proxy's RequestHeadScanner
#                and answered as bytes, dev.roundhouse.bench.floor.FastPathFloor: the fast path's ceiling), and
#                iouring-floor (the same answers on io_uring, Netty's transport, instead of epoll and
#                read/write: dev.roundhouse.bench.floor.IoUringFloor, what another I/O layer costs the kernel)
#   CONNECTIONS  wrk connection counts, a list    (default "64", e.g. "16 64 256")
#   DURATION     wrk duration per measured run    (default 10s)
#   ROUNDS       rounds per connection count      (default 3)
#   WARMUP       JVM warm-up run for roundhouse   (default 10s)
#   PRIME        priming run for nginx/haproxy    (default 2s)
#   WARMUP_CONNECTIONS  connections for warm-up   (default: largest of CONNECTIONS)
#   PROXY_CPU    CPU for backends and proxies     (default 1)
#   LOAD_CPU     CPU for wrk                      (default 0)
#   WRK_TIMEOUT  wrk --timeout                    (default 2s)
#   PORT_BASE    use fixed ports PORT_BASE..PORT_BASE+10 instead of probing for free ones
#   PROXY_JAR    path to the Roundhouse jar       (default <repo>/proxy/target/roundhouse-proxy.jar)
#   JAVA_OPTS    extra JVM options for roundhouse (default none)
#   IMAGE        1 (default) = Roundhouse runs as its image does: the proxy Dockerfile's ENTRYPOINT flags (its class
#                archive written first by the Dockerfile's own dump step, bench/lib/image.sh) and the container's
#                memory limit (-XX:MaxRAM=MEMORY_LIMIT); 0 = plain java -jar, as runs before 2026-12-07 did
#   MEMORY_LIMIT with IMAGE=1: the memory limit the JVM sizes itself by (default 256m: the Deployment's)
#   RH_MAX_CONNECTIONS_PER_THREAD  Roundhouse's MAX_CONNECTIONS_PER_THREAD (default: not set, so the production
#                default applies, as for every other setting; RH_MAX_CONNECTIONS_PER_THREAD=64 gives the old default)
#   READY_TIMEOUT seconds to wait for /readyz     (default 60)
#   NGINX_UPSTREAM_KEEPALIVE  idle upstream connections nginx keeps (default 512: enough that nginx reuses connections at 256 clients)
#   KEEP_TMP     1 = do not delete the temp dir (logs, configs) on exit
#   REQUEST_BODY wrk only: every request is a POST with a body of this many bytes (default 0: a GET).
#                nginx as the proxy then keeps bodies up to 128 KiB in memory (client_body_buffer_size; its
#                default, 16 KiB, writes a larger body to a temp file first), so that no target touches the disk
#   TLS          1 = clients speak HTTPS to the proxies (wrk only; targets nginx, haproxy, roundhouse): the
#                same certificate for all three, made with openssl at the start; TLS 1.2 and 1.3, each
#                proxy's default suites; the backends stay plain HTTP (default 0)
#   TLS_KEY      with TLS=1: ec (ECDSA P-256, the default) or rsa (RSA 2048)
#   NEW_CONNECTIONS  with TLS=1: 1 = every request on a new connection (wrk sends Connection: close), so
#                req/s is full TLS handshakes per second (wrk does not resume sessions); default 0, keep-alive
#   RH_TLS_ENGINE  with TLS=1: Roundhouse's TLS_ENGINE, jdk (default) or openssl (BoringSSL)
#   H2           1 = clients speak HTTP/2, loaded with h2load (Debian's nghttp2-client) instead of wrk: in clear text
#                with prior knowledge (h2c), or with TLS=1 over TLS through ALPN (h2); targets nginx, haproxy,
#                roundhouse, and in clear text the floors nginx-static and undertow-floor (Roundhouse's HTTP/2
#                server answering by itself); the backends stay HTTP/1.1. h2load reports no percentiles: the p50 column shows its
#                mean latency, p99 is left out (default 0)
#   H2_STREAMS   with H2=1: streams in flight per connection, h2load -m (default 10)
#   HOST_HEADER  wrk only: send this Host header instead of wrk's "127.0.0.1:<port>" (e.g. "shop.example",
#                as clients of a load balancer behind a DNS name send); the same for every target
#   LOAD         wrk (default: closed loop, as fast as it goes) or fixed-rate (open loop: the
#                project's own generator, dev.roundhouse.bench.load.FixedRate, sends RATES
#                requests per second over CONNECTIONS connections and measures latency from
#                each request's due time, free of coordinated omission; bench/fixed-rate.sh)
#   RATES        fixed-rate only: offered loads in req/s, a list (default "5000 15000")
#   FR_WARMUP    fixed-rate only: first part of each run not counted (default 2s; DURATION is counted)
#   FR_PRIME_ROUNDS  fixed-rate only: whole rounds run first at each rate, interleaved as the counted ones and
#                not counted (default 2): the JVM's compiler keeps recompiling the request path for a minute or
#                two after the load's pattern changes (new connections, idle gaps, rates), see docs/benchmark-history.md
#   BENCH_JAR    fixed-rate and the two floors: the bench jar (default <repo>/bench/target/roundhouse-bench.jar)
#   COSTS        1 = after the wrk rounds, one more run per target at COSTS_CONNECTIONS (default 64) for
#                COSTS_DURATION (default 5s) that measures per-request costs: system calls per request
#                (strace -c -f attached to every thread of the target; strace slows the target, so its req/s
#                is not reported), resident memory (VmRSS of the target's processes after the runs), and
#                for Roundhouse bytes allocated per request (JFR's per-thread allocation counters, a
#                separate run without strace). Needs strace and, for allocation, jcmd and jfr.
#   STATUS_POLL  1 = one more target, roundhouse+status: the same Roundhouse process and port, loaded the same
#                way, while a poller (python3, on LOAD_CPU, off the proxy's CPU) asks its admin port GET /status
#                every STATUS_POLL_INTERVAL seconds (default 2, what the status page does) and keeps one
#                /status?after=<lastChange>&wait=30 open, as the operator does. Its rounds interleave with
#                roundhouse's (which goes first in odd rounds, second in even ones), and the report adds their
#                per-round req/s and p99 ratios and what the poller saw (default 0). The pair is the point: the
#                proxy's /status costs the request path nothing measurable when req/s does not move
#
# The status sampler (every 5 s) and the in-flight counters run in both; STATUS_POLL measures what asking costs.
# Output: progress lines, one table per connection count (medians over
# rounds), and one "RESULT target=... conns=... ..." line per target and
# connection count. With LOAD=fixed-rate: one table per connection count and
# rate, and "RESULT load=fixed-rate target=... conns=... rate=... ..." lines.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"

TARGETS="${TARGETS:-nginx haproxy roundhouse}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-10s}"
PRIME="${PRIME:-2s}"
PROXY_CPU="${PROXY_CPU:-1}"
LOAD_CPU="${LOAD_CPU:-0}"
WRK_TIMEOUT="${WRK_TIMEOUT:-2s}"
REQUEST_BODY="${REQUEST_BODY:-0}"
PROXY_JAR="${PROXY_JAR:-$REPO_DIR/proxy/target/roundhouse-proxy.jar}"
# Roundhouse runs with its production defaults unless this is set.
RH_MAX_CONNECTIONS_PER_THREAD="${RH_MAX_CONNECTIONS_PER_THREAD:-}"
JAVA_OPTS="${JAVA_OPTS:-}"
IMAGE="${IMAGE:-1}"
MEMORY_LIMIT="${MEMORY_LIMIT:-256m}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
NGINX_UPSTREAM_KEEPALIVE="${NGINX_UPSTREAM_KEEPALIVE:-512}"
KEEP_TMP="${KEEP_TMP:-0}"
LOAD="${LOAD:-wrk}"
RATES="${RATES:-5000 15000}"
FR_WARMUP="${FR_WARMUP:-2s}"
FR_PRIME_ROUNDS="${FR_PRIME_ROUNDS:-2}"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"
COSTS="${COSTS:-0}"
TLS="${TLS:-0}"
TLS_KEY="${TLS_KEY:-ec}"
NEW_CONNECTIONS="${NEW_CONNECTIONS:-0}"
RH_TLS_ENGINE="${RH_TLS_ENGINE:-jdk}"
H2="${H2:-0}"
H2_STREAMS="${H2_STREAMS:-10}"
COSTS_CONNECTIONS="${COSTS_CONNECTIONS:-64}"
COSTS_DURATION="${COSTS_DURATION:-5s}"
STATUS_POLL="${STATUS_POLL:-0}"
STATUS_POLL_INTERVAL="${STATUS_POLL_INTERVAL:-2}"

NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
HAPROXY_BIN="${HAPROXY_BIN:-/usr/sbin/haproxy}"
WRK_BIN="${WRK_BIN:-/usr/bin/wrk}"
H2LOAD_BIN="${H2LOAD_BIN:-/usr/bin/h2load}"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- checks ---

need() { command -v "$1" >/dev/null 2>&1 || die "required tool not found: $1"; }
find_bin() {   # find_bin <preferred path> <name>: that path if executable, else <name> from PATH
  if [[ -x "$1" ]]; then echo "$1"; else command -v "$2" 2>/dev/null || die "required tool not found: $2"; fi
}
NGINX_BIN="$(find_bin "$NGINX_BIN" nginx)"
HAPROXY_BIN="$(find_bin "$HAPROXY_BIN" haproxy)"
WRK_BIN="$(find_bin "$WRK_BIN" wrk)"
for t in taskset curl awk sort pgrep timeout mktemp; do need "$t"; done

case "$STATUS_POLL" in 0|1) ;; *) die "STATUS_POLL must be 0 or 1, got '$STATUS_POLL'" ;; esac
if [[ "$STATUS_POLL" == 1 && " $TARGETS " != *" roundhouse+status "* ]]; then
  [[ " $TARGETS " == *" roundhouse "* ]] || die "STATUS_POLL=1 needs roundhouse in TARGETS"
  TARGETS="$(sed 's/\(^\| \)roundhouse\( \|$\)/\1roundhouse roundhouse+status\2/' <<<"$TARGETS")"
fi
for t in $TARGETS; do
  case "$t" in nginx|haproxy|roundhouse|roundhouse+status|nginx-static|undertow-floor|fastpath-floor|iouring-floor) ;;
    *) die "unknown target '$t' (known: nginx haproxy roundhouse roundhouse+status nginx-static undertow-floor fastpath-floor iouring-floor)";; esac
done
if [[ " $TARGETS " == *" roundhouse+status "* ]]; then
  [[ " $TARGETS " == *" roundhouse "* ]] || die "roundhouse+status is roundhouse polled: it needs roundhouse in TARGETS"
  [[ "$STATUS_POLL_INTERVAL" =~ ^[0-9]*\.?[0-9]+$ ]] || die "STATUS_POLL_INTERVAL must be seconds, got '$STATUS_POLL_INTERVAL'"
  need python3
  STATUS_POLL=1
fi
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
for c in $CONNECTIONS; do
  [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be positive integers, got '$c'"
done
[[ "$READY_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "READY_TIMEOUT must be a positive integer"
[[ "$NGINX_UPSTREAM_KEEPALIVE" =~ ^[1-9][0-9]*$ ]] || die "NGINX_UPSTREAM_KEEPALIVE must be a positive integer"
[[ "$REQUEST_BODY" =~ ^[0-9]+$ ]] || die "REQUEST_BODY must be a number of bytes, got '$REQUEST_BODY'"
case "$TLS" in 0|1) ;; *) die "TLS must be 0 or 1, got '$TLS'" ;; esac
case "$TLS_KEY" in ec|rsa) ;; *) die "TLS_KEY must be ec or rsa, got '$TLS_KEY'" ;; esac
case "$NEW_CONNECTIONS" in 0|1) ;; *) die "NEW_CONNECTIONS must be 0 or 1, got '$NEW_CONNECTIONS'" ;; esac
if [[ "$TLS" == 1 ]]; then
  need openssl
  [[ "$LOAD" == wrk ]] || die "TLS=1 runs with wrk only"
  for t in $TARGETS; do
    case "$t" in nginx|haproxy|roundhouse|roundhouse+status) ;; *) die "TLS=1: target $t has no HTTPS setup (nginx haproxy roundhouse)" ;; esac
  done
fi
[[ "$NEW_CONNECTIONS" == 0 || "$TLS" == 1 ]] || die "NEW_CONNECTIONS=1 needs TLS=1"
case "$H2" in 0|1) ;; *) die "H2 must be 0 or 1, got '$H2'" ;; esac
if [[ "$H2" == 1 ]]; then
  H2LOAD_BIN="$(find_bin "$H2LOAD_BIN" h2load)"
  [[ "$H2_STREAMS" =~ ^[1-9][0-9]*$ ]] || die "H2_STREAMS must be a positive integer, got '$H2_STREAMS'"
  [[ "$LOAD" == wrk ]] || die "H2=1 runs with h2load only (LOAD=wrk)"
  [[ "$NEW_CONNECTIONS" == 0 && "$REQUEST_BODY" == 0 && -z "${HOST_HEADER:-}" && "$COSTS" == 0 ]] \
    || die "H2=1 does not combine with NEW_CONNECTIONS, REQUEST_BODY, HOST_HEADER or COSTS"
  for t in $TARGETS; do
    case "$t" in
      nginx|haproxy|roundhouse|roundhouse+status) ;;
      nginx-static|undertow-floor) [[ "$TLS" == 0 ]] || die "H2=1 TLS=1: target $t has no TLS setup" ;;
      *) die "H2=1: target $t has no HTTP/2 setup (nginx haproxy roundhouse nginx-static undertow-floor)" ;;
    esac
  done
fi
SCHEME=http
[[ "$TLS" == 1 ]] && SCHEME=https
case "$LOAD" in
  wrk) ;;
  fixed-rate)
    for r in $RATES; do [[ "$r" =~ ^[1-9][0-9]*$ ]] || die "RATES must be positive integers, got '$r'"; done
    ;;
  *) die "LOAD must be wrk or fixed-rate, got '$LOAD'" ;;
esac

if [[ "$LOAD" == fixed-rate || " $TARGETS " == *" undertow-floor "* || " $TARGETS " == *" fastpath-floor "* \
      || " $TARGETS " == *" iouring-floor "* ]]; then
  need java
  [[ -f "$BENCH_JAR" ]] || die "bench jar not found: $BENCH_JAR (build: cd $REPO_DIR && mvn -B -q -DskipTests package)"
fi

NCPU="$(nproc --all 2>/dev/null || nproc)"
for cpu in "$PROXY_CPU" "$LOAD_CPU"; do
  [[ "$cpu" =~ ^[0-9]+$ ]] && (( cpu < NCPU )) || die "CPU '$cpu' not available (nproc=$NCPU)"
done
[[ "$PROXY_CPU" != "$LOAD_CPU" ]] || log "WARNING: PROXY_CPU == LOAD_CPU ($PROXY_CPU); wrk competes with the proxies"

if [[ "$COSTS" == 1 ]]; then
  need strace
  if [[ " $TARGETS " == *" roundhouse "* ]]; then need jcmd; need jfr; fi
fi
if [[ " $TARGETS " == *" roundhouse "* ]]; then
  need java
  if [[ ! -f "$PROXY_JAR" ]]; then
    echo "Roundhouse proxy jar not found: $PROXY_JAR" >&2
    echo "Build it first:  (cd $REPO_DIR && mvn -B -q -DskipTests package)" >&2
    echo "or skip it:      TARGETS=\"nginx haproxy\" $0" >&2
    exit 1
  fi
fi

# "10s" / "2m" / "1h" / "10" -> seconds (integer)
dur_secs() {
  local d="$1"
  case "$d" in
    *s) echo "${d%s}" ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *h) echo $(( ${d%h} * 3600 )) ;;
    *)  echo "$d" ;;
  esac
}
for d in "$DURATION" "$WARMUP" "$PRIME" "$COSTS_DURATION"; do
  [[ "$(dur_secs "$d")" =~ ^[0-9]+$ ]] || die "bad duration '$d' (use e.g. 10s, 1m)"
done

CLK_TCK="$(getconf CLK_TCK)"

# ------------------------------------------------------------- temp dir ---

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roundhouse-bench.XXXXXX")"
# shellcheck source=lib/image.sh
source "$SCRIPT_DIR/lib/image.sh"
WRK_SCRIPT=""
NGINX_BODY_CONF=""
if (( REQUEST_BODY > 0 )); then
  WRK_SCRIPT="$TMP/post.lua"
  printf 'wrk.method = "POST"\nwrk.body = string.rep("x", %d)\nwrk.headers["Content-Type"] = "application/octet-stream"\n' \
    "$REQUEST_BODY" > "$WRK_SCRIPT"
  NGINX_BODY_CONF="client_body_buffer_size 128k; client_max_body_size 16m;"
fi
PIDS=()          # everything we started, stopped in cleanup()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # bounded wait for a graceful exit, then SIGKILL
  local i alive
  for (( i = 0; i < 50; i++ )); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ "$KEEP_TMP" == 1 ]]; then
    log "kept temp dir $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----------------------------------------------------------------- ports ---

if [[ -n "${PORT_BASE:-}" ]]; then
  [[ "$PORT_BASE" =~ ^[0-9]+$ ]] || die "PORT_BASE must be a number"
  PORTS=()
  for i in 0 1 2 3 4 5 6 7 8 9 10; do PORTS+=( $(( PORT_BASE + i )) ); done
else
  need python3
  # Ask the kernel for 10 distinct free ports on 127.0.0.1 (all held open
  # at the same time so they differ, then released).
  read -r -a PORTS < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(11):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
)
fi
BACKEND1_PORT=${PORTS[0]}
BACKEND2_PORT=${PORTS[1]}
NGINX_PORT=${PORTS[2]}
HAPROXY_PORT=${PORTS[3]}
RH_PORT=${PORTS[4]}
RH_METRICS_PORT=${PORTS[5]}
NGINX_STATIC_PORT=${PORTS[6]}
FLOOR_PORT=${PORTS[7]}
RH_PLAIN_PORT=${PORTS[8]}   # with TLS=1, Roundhouse's plain port (its HTTPS port is RH_PORT, the one loaded)
FASTPATH_FLOOR_PORT=${PORTS[9]}
IOURING_FLOOR_PORT=${PORTS[10]}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "${PORTS[@]}"; do
  port_in_use "$p" && die "port $p on 127.0.0.1 is already in use (set PORT_BASE to choose others)"
done

# bounded wait until an HTTP GET succeeds (curl with any further arguments given); checks the process is alive
wait_http() {
  local url="$1" pid="$2" name="$3" timeout_s="$4" logf="$5"
  local -a extra=( "${@:6}" )
  local deadline=$(( SECONDS + timeout_s ))
  while (( SECONDS < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logf:"
      tail -n 30 "$logf" >&2 || true
      die "$name failed to start"
    fi
    curl -kfs "${extra[@]}" -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.2
  done
  log "$name not ready after ${timeout_s}s; last lines of $logf:"
  tail -n 30 "$logf" >&2 || true
  die "$name did not become ready at $url"
}

# ------------------------------------------------------------- backends ---

BODY="$(printf 'roundhouse-bench-%083d' 0)"   # exactly 100 bytes
(( ${#BODY} == 100 )) || die "body length ${#BODY} != 100"

mkdir -p "$TMP/backend/logs" "$TMP/nginx/logs" "$TMP/nginx-static/logs" "$TMP/haproxy" "$TMP/roundhouse" "$TMP/undertow-floor" "$TMP/fastpath-floor" "$TMP/iouring-floor"

# TLS=1: one certificate for localhost and 127.0.0.1, the same files for all three proxies.
if [[ "$TLS" == 1 ]]; then
  mkdir -p "$TMP/tls"
  if [[ "$TLS_KEY" == ec ]]; then key_args=( -newkey ec -pkeyopt ec_paramgen_curve:P-256 ); else key_args=( -newkey rsa:2048 ); fi
  openssl req -x509 "${key_args[@]}" -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" >"$TMP/tls/openssl.log" 2>&1 \
    || { cat "$TMP/tls/openssl.log" >&2; die "openssl could not make the benchmark's certificate"; }
  cat "$TMP/tls/cert.pem" "$TMP/tls/key.pem" >"$TMP/tls/combined.pem"
  TLS_NGINX_LISTEN=" ssl"
  TLS_NGINX_CONF="ssl_certificate $TMP/tls/cert.pem; ssl_certificate_key $TMP/tls/key.pem; ssl_protocols TLSv1.2 TLSv1.3;"
  TLS_HAPROXY_BIND=" ssl crt $TMP/tls/combined.pem ssl-min-ver TLSv1.2"
  [[ "$NEW_CONNECTIONS" == 1 ]] && CLOSE_HEADER="Connection: close"
  log "TLS: $TLS_KEY certificate for all targets; clients $([[ "$NEW_CONNECTIONS" == 1 ]] && echo "open a connection per request (full handshakes)" || echo "keep connections alive")"
fi

# curl's arguments for the targets: HTTP/2 the way the load speaks it
CURL_H2=()
if [[ "$H2" == 1 ]]; then
  if [[ "$TLS" == 1 ]]; then CURL_H2=( --http2 ); else CURL_H2=( --http2-prior-knowledge ); fi
fi

# H2=1: each peer's HTTP/2 switch (Roundhouse needs none): nginx's http2 listener (prior knowledge in clear text,
# ALPN with TLS), HAProxy's h2 for cleartext connections or ALPN h2 with TLS.
if [[ "$H2" == 1 ]]; then
  H2_NGINX_LISTEN=" http2"
  if [[ "$TLS" == 1 ]]; then H2_HAPROXY_BIND=" alpn h2,http/1.1"; else H2_HAPROXY_BIND=" proto h2"; fi
  log "HTTP/2: h2load -m$H2_STREAMS $([[ "$TLS" == 1 ]] && echo "over TLS (ALPN h2)" || echo "in clear text (prior knowledge)")"
fi

cat > "$TMP/backend/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type text/plain;
  server {
    listen 127.0.0.1:$BACKEND1_PORT backlog=4096;
    location / { return 200 "$BODY"; }
  }
  server {
    listen 127.0.0.1:$BACKEND2_PORT backlog=4096;
    location / { return 200 "$BODY"; }
  }
}
EOF

start_bg() {   # start_bg <logfile> <cmd...> ; sets STARTED_PID
  local logf="$1"; shift
  "$@" >"$logf" 2>&1 &
  STARTED_PID=$!
  PIDS+=( "$STARTED_PID" )
}

log "temp dir: $TMP"
(( REQUEST_BODY == 0 )) || log "requests: POST with a body of $REQUEST_BODY bytes (wrk -s $WRK_SCRIPT)"
log "ports: backends $BACKEND1_PORT,$BACKEND2_PORT nginx $NGINX_PORT haproxy $HAPROXY_PORT roundhouse $RH_PORT (metrics $RH_METRICS_PORT)"
log "starting backend nginx (1 worker, ports $BACKEND1_PORT $BACKEND2_PORT) on CPU $PROXY_CPU"
start_bg "$TMP/backend/logs/stdout.log" taskset -c "$PROXY_CPU" \
  "$NGINX_BIN" -p "$TMP/backend" -c "$TMP/backend/nginx.conf" -e "$TMP/backend/logs/error.log" -g 'daemon off;'
BACKEND_PID=$STARTED_PID
wait_http "http://127.0.0.1:$BACKEND1_PORT/" "$BACKEND_PID" "backend nginx" 15 "$TMP/backend/logs/error.log"
wait_http "http://127.0.0.1:$BACKEND2_PORT/" "$BACKEND_PID" "backend nginx" 15 "$TMP/backend/logs/error.log"

# ---------------------------------------------------------------- targets ---

declare -A TARGET_PID TARGET_PORT

start_nginx() {
  cat > "$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  upstream backends {
    server 127.0.0.1:$BACKEND1_PORT;
    server 127.0.0.1:$BACKEND2_PORT;
    keepalive $NGINX_UPSTREAM_KEEPALIVE;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096${TLS_NGINX_LISTEN:-}${H2_NGINX_LISTEN:-};
    ${TLS_NGINX_CONF:-}
    $NGINX_BODY_CONF
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  log "starting nginx reverse proxy (1 worker) on CPU $PROXY_CPU, port $NGINX_PORT"
  start_bg "$TMP/nginx/logs/stdout.log" taskset -c "$PROXY_CPU" \
    "$NGINX_BIN" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" -g 'daemon off;'
  TARGET_PID[nginx]=$STARTED_PID
  TARGET_PORT[nginx]=$NGINX_PORT
  wait_http "$SCHEME://127.0.0.1:$NGINX_PORT/" "$STARTED_PID" "nginx proxy" 15 "$TMP/nginx/logs/error.log" "${CURL_H2[@]}"
}

start_haproxy() {
  cat > "$TMP/haproxy/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  pidfile $TMP/haproxy/haproxy.pid

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
  bind 127.0.0.1:$HAPROXY_PORT${TLS_HAPROXY_BIND:-}${H2_HAPROXY_BIND:-}
  default_backend be

backend be
  balance roundrobin
  server b1 127.0.0.1:$BACKEND1_PORT
  server b2 127.0.0.1:$BACKEND2_PORT
EOF
  "$HAPROXY_BIN" -c -q -f "$TMP/haproxy/haproxy.cfg" >"$TMP/haproxy/check.log" 2>&1 \
    || { cat "$TMP/haproxy/check.log" >&2; die "haproxy config check failed"; }
  log "starting haproxy (nbthread 1) on CPU $PROXY_CPU, port $HAPROXY_PORT"
  start_bg "$TMP/haproxy/haproxy.log" taskset -c "$PROXY_CPU" \
    "$HAPROXY_BIN" -db -f "$TMP/haproxy/haproxy.cfg"
  TARGET_PID[haproxy]=$STARTED_PID
  TARGET_PORT[haproxy]=$HAPROXY_PORT
  wait_http "$SCHEME://127.0.0.1:$HAPROXY_PORT/" "$STARTED_PID" "haproxy" 15 "$TMP/haproxy/haproxy.log" "${CURL_H2[@]}"
}

start_roundhouse() {
  local jvm=( -jar "$PROXY_JAR" )
  if [[ "$IMAGE" == 1 ]]; then
    image_layout "$TMP/app"
    jvm=( "${IMAGE_JVM_FLAGS[@]}" "-XX:MaxRAM=$MEMORY_LIMIT" -jar "$TMP/app/roundhouse-proxy.jar" )
  fi
  log "starting roundhouse (java ${jvm[*]} $JAVA_OPTS) on CPU $PROXY_CPU, port $RH_PORT, metrics $RH_METRICS_PORT"
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  local tls_env=()
  if [[ "$TLS" == 1 ]]; then
    tls_env=( PORT="$RH_PLAIN_PORT" TLS_PORT="$RH_PORT" TLS_CERT_FILE="$TMP/tls/cert.pem" TLS_KEY_FILE="$TMP/tls/key.pem"
              TLS_ENGINE="$RH_TLS_ENGINE" )
  fi
  local cap_env=()
  if [[ -n "$RH_MAX_CONNECTIONS_PER_THREAD" ]]; then
    cap_env=( MAX_CONNECTIONS_PER_THREAD="$RH_MAX_CONNECTIONS_PER_THREAD" )
  fi
  start_bg "$TMP/roundhouse/proxy.log" env \
    PORT="$RH_PORT" METRICS_PORT="$RH_METRICS_PORT" BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn "${tls_env[@]}" \
    BACKENDS="http://127.0.0.1:$BACKEND1_PORT,http://127.0.0.1:$BACKEND2_PORT" \
    HEALTH_CHECK_PATH=/ "${cap_env[@]}" \
    taskset -c "$PROXY_CPU" java $JAVA_OPTS "${jvm[@]}"
  TARGET_PID[roundhouse]=$STARTED_PID   # env and taskset exec, so this is the java pid
  TARGET_PORT[roundhouse]=$RH_PORT
  wait_http "http://127.0.0.1:$RH_METRICS_PORT/readyz" "$STARTED_PID" "roundhouse" "$READY_TIMEOUT" "$TMP/roundhouse/proxy.log"
}

start_nginx-static() {
  cat > "$TMP/nginx-static/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/nginx-static/nginx.pid;
error_log $TMP/nginx-static/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type text/plain;
  server {
    listen 127.0.0.1:$NGINX_STATIC_PORT backlog=4096${H2_NGINX_LISTEN:-};
    location / { return 200 "$BODY"; }
  }
}
EOF
  log "starting nginx answering by itself (1 worker) on CPU $PROXY_CPU, port $NGINX_STATIC_PORT"
  start_bg "$TMP/nginx-static/logs/stdout.log" taskset -c "$PROXY_CPU" \
    "$NGINX_BIN" -p "$TMP/nginx-static" -c "$TMP/nginx-static/nginx.conf" -e "$TMP/nginx-static/logs/error.log" -g 'daemon off;'
  TARGET_PID[nginx-static]=$STARTED_PID
  TARGET_PORT[nginx-static]=$NGINX_STATIC_PORT
  wait_http "http://127.0.0.1:$NGINX_STATIC_PORT/" "$STARTED_PID" "nginx-static" 15 "$TMP/nginx-static/logs/error.log" "${CURL_H2[@]}"
}

start_undertow-floor() {
  log "starting Roundhouse's server answering by itself (ServerFloor) on CPU $PROXY_CPU, port $FLOOR_PORT"
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  start_bg "$TMP/undertow-floor/server.log" env \
    PORT="$FLOOR_PORT" METRICS_PORT=0 BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn FLOOR_BODY="$BODY" \
    BACKENDS="http://127.0.0.1:$BACKEND1_PORT" \
    taskset -c "$PROXY_CPU" java $JAVA_OPTS -cp "$BENCH_JAR" dev.roundhouse.bench.floor.ServerFloor
  TARGET_PID[undertow-floor]=$STARTED_PID
  TARGET_PORT[undertow-floor]=$FLOOR_PORT
  wait_http "http://127.0.0.1:$FLOOR_PORT/" "$STARTED_PID" "undertow-floor" "$READY_TIMEOUT" "$TMP/undertow-floor/server.log"
}

start_fastpath-floor() {
  log "starting the fast path's ceiling answering by itself (FastPathFloor) on CPU $PROXY_CPU, port $FASTPATH_FLOOR_PORT"
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  start_bg "$TMP/fastpath-floor/server.log" env \
    PORT="$FASTPATH_FLOOR_PORT" BIND_ADDRESS=127.0.0.1 FLOOR_BODY="$BODY" \
    taskset -c "$PROXY_CPU" java $JAVA_OPTS -cp "$BENCH_JAR" dev.roundhouse.bench.floor.FastPathFloor
  TARGET_PID[fastpath-floor]=$STARTED_PID
  TARGET_PORT[fastpath-floor]=$FASTPATH_FLOOR_PORT
  wait_http "http://127.0.0.1:$FASTPATH_FLOOR_PORT/" "$STARTED_PID" "fastpath-floor" "$READY_TIMEOUT" "$TMP/fastpath-floor/server.log"
}

start_iouring-floor() {
  log "starting the same answers on io_uring (IoUringFloor) on CPU $PROXY_CPU, port $IOURING_FLOOR_PORT"
  # shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
  start_bg "$TMP/iouring-floor/server.log" env \
    PORT="$IOURING_FLOOR_PORT" BIND_ADDRESS=127.0.0.1 FLOOR_BODY="$BODY" \
    taskset -c "$PROXY_CPU" java $JAVA_OPTS -cp "$BENCH_JAR" dev.roundhouse.bench.floor.IoUringFloor
  TARGET_PID[iouring-floor]=$STARTED_PID
  TARGET_PORT[iouring-floor]=$IOURING_FLOOR_PORT
  wait_http "http://127.0.0.1:$IOURING_FLOOR_PORT/" "$STARTED_PID" "iouring-floor" "$READY_TIMEOUT" "$TMP/iouring-floor/server.log"
}

for t in $TARGETS; do
  [[ "$t" == roundhouse+status ]] && continue   # not a process: roundhouse's, polled
  "start_$t"
done
if [[ "$STATUS_POLL" == 1 ]]; then
  TARGET_PID[roundhouse+status]=${TARGET_PID[roundhouse]}
  TARGET_PORT[roundhouse+status]=${TARGET_PORT[roundhouse]}
fi

# Sanity check: every target returns the backend's 100-byte body (over HTTP/2 with H2=1).
for t in $TARGETS; do
  got="$(curl -kfsS "${CURL_H2[@]}" --max-time 5 "$SCHEME://127.0.0.1:${TARGET_PORT[$t]}/" 2>&1)" || die "$t: request failed: $got"
  [[ "$got" == "$BODY" ]] || die "$t: unexpected body (${#got} bytes): ${got:0:200}"
  if [[ "$H2" == 1 ]]; then
    v="$(curl -ksS "${CURL_H2[@]}" --max-time 5 -o /dev/null -w '%{http_version}' "$SCHEME://127.0.0.1:${TARGET_PORT[$t]}/")"
    [[ "$v" == 2 ]] || die "$t: answered in HTTP/$v, not HTTP/2"
  fi
done
log "all targets answer with the backend body"

# ------------------------------------------------------------ measuring ---

# STATUS_POLL: the status page's poll and the operator's long poll of Roundhouse's admin port, from its own process
# on LOAD_CPU. One persistent connection each, as a browser and the operator's HTTP client keep. On SIGTERM it
# writes what it saw as key=value on one line.
cat > "$TMP/status-poller.py" <<'EOF'
import http.client, json, os, signal, sys, threading, time

port, interval, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
seen = {"page_polls": 0, "page_failures": 0, "page_bytes": 0, "long_polls": 0, "long_answers": 0, "long_failures": 0}
page_ms = []


def count(key, n=1):
    with lock:
        seen[key] += n


def page():
    conn = None
    while True:
        started = time.monotonic()
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/status")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise IOError("status %d" % response.status)
            json.loads(body)
            with lock:
                seen["page_polls"] += 1
                seen["page_bytes"] += len(body)
                page_ms.append((time.monotonic() - started) * 1000)
        except Exception:
            count("page_failures")
            conn = None
        if not os.path.exists(out + ".ready"):
            open(out + ".ready", "w").close()
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def long_poll():
    conn, last = None, -1
    while True:
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=45)
            count("long_polls")
            conn.request("GET", "/status?after=%d&wait=30" % last)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise IOError("status %d" % response.status)
            last = json.loads(body)["lastChange"]
            count("long_answers")
        except Exception:
            count("long_failures")
            conn = None
            time.sleep(1)


def stop(*_):
    with lock:
        ms = sorted(page_ms)
        seen["page_p50_ms"] = "%.2f" % ms[len(ms) // 2] if ms else "nan"
        seen["page_max_ms"] = "%.2f" % ms[-1] if ms else "nan"
        line = " ".join("%s=%s" % kv for kv in seen.items())
    with open(out, "w") as f:
        f.write(line + "\n")
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
threading.Thread(target=long_poll, daemon=True).start()
threading.Thread(target=page, daemon=True).start()
while True:
    time.sleep(3600)
EOF

POLLER_PID=""
start_status_poller() {   # start_status_poller <outfile>: polls Roundhouse's admin port until stop_status_poller
  local outf="$1" i
  rm -f "$outf" "$outf.ready"
  taskset -c "$LOAD_CPU" python3 "$TMP/status-poller.py" "$RH_METRICS_PORT" "$STATUS_POLL_INTERVAL" "$outf" &
  POLLER_PID=$!
  PIDS+=( "$POLLER_PID" )
  for (( i = 0; i < 50; i++ )); do [[ -e "$outf.ready" ]] && return 0; sleep 0.1; done
  die "the status poller did not get a first answer from port $RH_METRICS_PORT"
}
stop_status_poller() {
  kill -TERM "$POLLER_PID" 2>/dev/null || true
  wait "$POLLER_PID" 2>/dev/null || true
  POLLER_PID=""
}

# The targets of round r: with STATUS_POLL, roundhouse and roundhouse+status swap places in even rounds, so that
# neither always runs right after the other (JIT drift would favour one of them).
round_targets() {
  local r="$1"
  if [[ "$STATUS_POLL" == 1 ]] && (( r % 2 == 0 )); then
    sed 's/\(^\| \)roundhouse roundhouse+status\( \|$\)/\1roundhouse+status roundhouse\2/' <<<"$TARGETS"
  else
    echo "$TARGETS"
  fi
}

# pid plus all its descendants (nginx master + workers; haproxy; java)
proc_tree() {
  local p="$1" c
  echo "$p"
  for c in $(pgrep -P "$p" 2>/dev/null || true); do proc_tree "$c"; done
}

# CPU clock ticks over the given pids (all threads included), as "utime+stime stime": the total, and the
# kernel's share of it (mostly socket work)
cpu_ticks() {
  local total=0 sys=0 p stat rest
  local -a f
  for p in "$@"; do
    stat="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    rest="${stat##*) }"              # comm may contain spaces; skip past it
    read -r -a f <<<"$rest"
    # rest starts at field 3 (state): utime = field 14 -> f[11], stime = f[12]
    total=$(( total + f[11] + f[12] ))
    sys=$(( sys + f[12] ))
  done
  echo "$total $sys"
}

# wrk latency value -> milliseconds
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (match(v, /^[0-9.]+/)) { n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1) } else { print "nan"; exit }
    if (u == "us") m = n / 1000; else if (u == "ms") m = n; else if (u == "s") m = n * 1000;
    else if (u == "m") m = n * 60000; else if (u == "h") m = n * 3600000; else { print "nan"; exit }
    printf "%.3f\n", m }'
}

run_wrk() {   # run_wrk <port> <conns> <duration> <outfile>
  local port="$1" conns="$2" dur="$3" out="$4"
  local limit=$(( $(dur_secs "$dur") + 60 ))
  if [[ "$H2" == 1 ]]; then
    timeout --kill-after=5 "$limit" taskset -c "$LOAD_CPU" \
      "$H2LOAD_BIN" -t1 -c"$conns" -m"$H2_STREAMS" -D"$(dur_secs "$dur")" \
      "$SCHEME://127.0.0.1:$port/" >"$out" 2>&1 || { cat "$out" >&2; die "h2load failed against port $port"; }
    return
  fi
  timeout --kill-after=5 "$limit" taskset -c "$LOAD_CPU" \
    "$WRK_BIN" -t1 -c"$conns" -d"$dur" --timeout "$WRK_TIMEOUT" --latency ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} \
    ${HOST_HEADER:+-H "Host: $HOST_HEADER"} ${CLOSE_HEADER:+-H "$CLOSE_HEADER"} \
    "$SCHEME://127.0.0.1:$port/" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed against port $port"; }
}

RESULT_LINES=()
RESULTS="$TMP/results.txt"   # conns target round rps p50 p99 cpu_us errors requests sys_us
: >"$RESULTS"

# Warm-up: JIT for the JVM; for nginx/haproxy a short run that opens the
# upstream keep-alive connections. Not measured.
WARMUP_CONNECTIONS="${WARMUP_CONNECTIONS:-$(tr ' ' '\n' <<<"$CONNECTIONS" | sort -n | tail -n 1)}"
for t in $TARGETS; do
  [[ "$t" == roundhouse+status ]] && continue   # the same JVM as roundhouse, warmed up with it
  if [[ "$t" == roundhouse || "$t" == undertow-floor || "$t" == fastpath-floor || "$t" == iouring-floor ]]; then d="$WARMUP"; else d="$PRIME"; fi
  [[ "$(dur_secs "$d")" -gt 0 ]] || continue
  log "warm-up $t: $([[ "$H2" == 1 ]] && echo h2load || echo wrk) -c$WARMUP_CONNECTIONS -d$d (not measured)"
  run_wrk "${TARGET_PORT[$t]}" "$WARMUP_CONNECTIONS" "$d" "$TMP/warmup-$t.txt"
done

if [[ "$LOAD" == fixed-rate ]]; then
  # Open-loop runs: the same offered load for every target, latency from each request's due time.
  FR_RESULTS="$TMP/fixed-rate.txt"   # conns rate target round load1/busy% cpu_us RESULT-fields
  : >"$FR_RESULTS"
  # percent of all CPUs busy over 1 s (others share the machine; our targets idle between runs)
  fr_busy() {
    local -a a b; local i ta=0 tb=0
    read -r -a a < <(head -n 1 /proc/stat); sleep 1; read -r -a b < <(head -n 1 /proc/stat)
    for (( i = 1; i <= 8; i++ )); do ta=$(( ta + a[i] )); tb=$(( tb + b[i] )); done
    echo $(( 100 * ((tb - ta) - ((b[4] + b[5]) - (a[4] + a[5]))) / (tb - ta > 0 ? tb - ta : 1) ))
  }
  fr_total="$(( $(dur_secs "$DURATION") + $(dur_secs "$FR_WARMUP") ))s"
  for conns in $CONNECTIONS; do
    for rate in $RATES; do
      # rounds 1-FR_PRIME_ROUNDS..0 prime (run, printed, not counted); 1..ROUNDS are counted
      for (( r = 1 - FR_PRIME_ROUNDS; r <= ROUNDS; r++ )); do
        for t in $(round_targets "$r"); do
          pid="${TARGET_PID[$t]}"
          kill -0 "$pid" 2>/dev/null || die "$t (pid $pid) is no longer running"
          mapfile -t tree < <(proc_tree "$pid")
          out="$TMP/fixed-rate-$t-c$conns-r$rate-$r.txt"
          load1="$(cut -d' ' -f1 /proc/loadavg)/$(fr_busy)%"
          [[ "$t" == roundhouse+status ]] && start_status_poller "$TMP/status-poll-c$conns-r$rate-$r.txt"
          read -r t0 _ < <(cpu_ticks "${tree[@]}")
          timeout --kill-after=5 $(( $(dur_secs "$fr_total") + 60 )) taskset -c "$LOAD_CPU" \
            java -Xms256m -Xmx1g -XX:+UseSerialGC -cp "$BENCH_JAR" dev.roundhouse.bench.load.FixedRate \
            --url "http://127.0.0.1:${TARGET_PORT[$t]}/" --connections "$conns" --rate "$rate" \
            --duration "$fr_total" --warmup "$FR_WARMUP" --timeout "$WRK_TIMEOUT" --label "$t" >"$out" 2>&1 \
            || { cat "$out" >&2; die "fixed-rate load failed against $t"; }
          read -r t1 _ < <(cpu_ticks "${tree[@]}")
          polled=""
          if [[ "$t" == roundhouse+status ]]; then
            stop_status_poller
            polled=" poller: $(cat "$TMP/status-poll-c$conns-r$rate-$r.txt" 2>/dev/null || echo "no report")"
          fi
          line="$(grep '^RESULT ' "$out" | tail -n 1)" || { cat "$out" >&2; die "no RESULT line for $t"; }
          # CPU per request over the whole run, warm-up included: ticks / (rate * seconds)
          cpu_us="$(awk -v d=$(( t1 - t0 )) -v hz="$CLK_TCK" -v n="$(( rate * $(dur_secs "$fr_total") ))" \
            'BEGIN { printf "%.2f\n", d / hz * 1e6 / n }')"
          if (( r >= 1 )); then
            echo "$conns $rate $t $r $load1 $cpu_us ${line#RESULT }" >>"$FR_RESULTS"
            round="round $r/$ROUNDS"
          else
            round="prime $(( r + FR_PRIME_ROUNDS ))/$FR_PRIME_ROUNDS"
          fi
          printf '%s conns=%-4s rate=%-6s %-17s load/busy=%-9s cpu_us/req=%-7s %s%s\n' "$round" "$conns" "$rate" "$t" \
            "$load1" "$cpu_us" "${line#RESULT label=$t }" "$polled"
        done
      done
    done
  done

  fr_median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  frcol() {   # frcol <conns> <rate> <target> <key>: that key's values over the rounds
    awk -v c="$1" -v r="$2" -v t="$3" -v k="$4" '$1 == c && $2 == r && $3 == t {
      if (k == "load1") { print $5; next }
      if (k == "cpu_us") { print $6; next }
      for (i = 7; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$FR_RESULTS"
  }
  echo
  echo "Roundhouse vs peers at a fixed rate: open-loop generator on CPU $LOAD_CPU, backends + proxy on CPU $PROXY_CPU;" \
    "$DURATION counted after $FR_WARMUP warm-up; $FR_PRIME_ROUNDS priming round(s) not counted, then $ROUNDS round(s), medians shown;" \
    "latency from each request's due time;" \
    "errors = total over rounds; load/busy = 1-minute load average / % of both CPUs busy over 1 s before each round;" \
    "lag = how late the generator itself sent (a large value means the load CPU was short, not the proxy)"
  for conns in $CONNECTIONS; do
    for rate in $RATES; do
      echo
      echo "connections=$conns rate=$rate req/s"
      printf '%-17s %10s %9s %9s %9s %9s %12s %8s %10s  %s | %s\n' target achieved p50_ms p99_ms p999_ms max_ms cpu_us/req errors lag_p99_ms "p99_ms per round" "load/busy per round"
      for t in $TARGETS; do
        ach="$(frcol "$conns" "$rate" "$t" achieved | fr_median)"
        p50="$(frcol "$conns" "$rate" "$t" p50 | fr_median)"
        p99="$(frcol "$conns" "$rate" "$t" p99 | fr_median)"
        p999="$(frcol "$conns" "$rate" "$t" p999 | fr_median)"
        mx="$(frcol "$conns" "$rate" "$t" max | fr_median)"
        cpu="$(frcol "$conns" "$rate" "$t" cpu_us | fr_median)"
        lag="$(frcol "$conns" "$rate" "$t" lag_p99 | fr_median)"
        ld="$(frcol "$conns" "$rate" "$t" load1 | paste -sd' ')"
        p99s="$(frcol "$conns" "$rate" "$t" p99 | paste -sd' ')"
        errs="$(frcol "$conns" "$rate" "$t" failed | awk '{ s += $1 } END { print s + 0 }')"
        printf '%-17s %10.0f %9.3f %9.3f %9.3f %9.3f %12.2f %8d %10.3f  %s | %s\n' "$t" "$ach" "$p50" "$p99" "$p999" "$mx" "$cpu" "$errs" "$lag" "$p99s" "$ld"
        RESULT_LINES+=( "RESULT load=fixed-rate target=$t conns=$conns rate=$rate achieved=$(printf '%.0f' "$ach") p50=$p50 p99=$p99 p999=$p999 max=$mx cpu_us=$cpu errors=$errs lag_p99=$lag p99_rounds=${p99s// /,} load_busy=${ld// /,} rounds=$ROUNDS prime_rounds=$FR_PRIME_ROUNDS duration=$DURATION" )
      done
    done
  done
  echo
  printf '%s\n' "${RESULT_LINES[@]}"
  exit 0
fi

for conns in $CONNECTIONS; do
  for (( r = 1; r <= ROUNDS; r++ )); do
    for t in $(round_targets "$r"); do
      pid="${TARGET_PID[$t]}"
      kill -0 "$pid" 2>/dev/null || die "$t (pid $pid) is no longer running"
      mapfile -t tree < <(proc_tree "$pid")
      out="$TMP/wrk-$t-c$conns-r$r.txt"
      [[ "$t" == roundhouse+status ]] && start_status_poller "$TMP/status-poll-c$conns-r$r.txt"
      read -r t0 s0 < <(cpu_ticks "${tree[@]}")
      run_wrk "${TARGET_PORT[$t]}" "$conns" "$DURATION" "$out"
      read -r t1 s1 < <(cpu_ticks "${tree[@]}")
      polled=""
      if [[ "$t" == roundhouse+status ]]; then
        stop_status_poller
        polled=" poller: $(cat "$TMP/status-poll-c$conns-r$r.txt" 2>/dev/null || echo "no report")"
      fi

      if [[ "$H2" == 1 ]]; then
        # finished in 10.00s, 41234.50 req/s, ...; requests: N total, ... S succeeded, F failed, E errored, T timeout
        rps="$(awk '/^finished in/ { gsub(",", ""); print $4 }' "$out")"
        reqs="$(awk '/^requests:/ { print $8 }' "$out")"
        p50="$(awk '/^time for request:/ { print $6 }' "$out")"   # the mean
        [[ -n "$rps" && -n "$reqs" && -n "$p50" ]] || { cat "$out" >&2; die "could not parse h2load output for $t"; }
        p50="$(to_ms "$p50")"; p99=nan
        non2xx="$(awk '/^status codes:/ { gsub(",", ""); print $5 + $7 + $9 }' "$out")"
        sockerr="$(awk '/^requests:/ { print $10 + $12 + $14 }' "$out")"
      else
      rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
      reqs="$(awk '/ requests in / {print $1}' "$out")"
      p50="$(awk '$1 == "50%" {print $2}' "$out")"
      p99="$(awk '$1 == "99%" {print $2}' "$out")"
      [[ -n "$rps" && -n "$reqs" && -n "$p50" && -n "$p99" ]] || { cat "$out" >&2; die "could not parse wrk output for $t"; }
      p50="$(to_ms "$p50")"; p99="$(to_ms "$p99")"
      non2xx="$(awk '/^ *Non-2xx or 3xx responses:/ {print $NF}' "$out")"
      sockerr="$(awk '/^ *Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")"
      fi
      errors=$(( ${non2xx:-0} + ${sockerr:-0} ))
      cpu_us="$(awk -v d=$(( t1 - t0 )) -v hz="$CLK_TCK" -v n="$reqs" \
        'BEGIN { if (n > 0) printf "%.2f\n", d / hz * 1e6 / n; else print "nan" }')"

      sys_us="$(awk -v d=$(( s1 - s0 )) -v hz="$CLK_TCK" -v n="$reqs" \
        'BEGIN { if (n > 0) printf "%.2f\n", d / hz * 1e6 / n; else print "nan" }')"

      echo "$conns $t $r $rps $p50 $p99 $cpu_us $errors $reqs $sys_us" >>"$RESULTS"
      printf 'round %d/%d conns=%-4s %-17s rps=%-10s p50=%-8s p99=%-8s cpu_us/req=%-7s sys_us/req=%-7s errors=%s (non2xx=%s socket=%s)%s\n' \
        "$r" "$ROUNDS" "$conns" "$t" "$rps" "$p50" "$p99" "$cpu_us" "$sys_us" "$errors" "${non2xx:-0}" "${sockerr:-0}" "$polled"
    done
  done
done

# -------------------------------------------------------- per-request costs ---

# Requests wrk completed in a run (its "N requests in" line).
wrk_requests() { awk '/ requests in / {print $1}' "$1"; }

# KiB resident over a process tree (all of nginx's or HAProxy's processes, or the JVM)
tree_rss_kib() {
  local total=0 p v
  for p in "$@"; do
    v="$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)" || continue
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

COSTS_LINES=()
if [[ "$COSTS" == 1 ]]; then
  log "per-request costs: strace -c -f at $COSTS_CONNECTIONS connections for $COSTS_DURATION per target"
  for t in $TARGETS; do
    [[ "$t" == roundhouse+status ]] && continue   # the same process as roundhouse
    pid="${TARGET_PID[$t]}"
    mapfile -t tree < <(proc_tree "$pid")
    # every process of the target; with -f strace attaches to all of each process's threads
    tids=()
    for p in "${tree[@]}"; do tids+=( -p "$p" ); done
    st="$TMP/strace-$t.txt"
    strace -c -f -q -o "$st" "${tids[@]}" &
    spid=$!
    sleep 1   # let strace attach to every thread before the load starts
    out="$TMP/wrk-costs-$t.txt"
    run_wrk "${TARGET_PORT[$t]}" "$COSTS_CONNECTIONS" "$COSTS_DURATION" "$out"
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    reqs="$(wrk_requests "$out")"
    calls="$(awk '$NF == "total" { print $4 + 0 }' "$st")"   # columns: % time, seconds, usecs/call, calls, [errors,] syscall
    per_req="$(awk -v c="${calls:-0}" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.2f\n", c / n; else print "nan" }')"
    top="$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF "=" $4 }' "$st" \
      | sort -t= -k2 -g -r | head -n 6 | awk -F= -v n="${reqs:-1}" '{ printf "%s%s=%.2f", (NR > 1 ? " " : ""), $1, $2 / n }')"
    alloc="-"
    if [[ "$t" == roundhouse ]]; then
      jf="$TMP/alloc-$t.jfr"
      jcmd "$pid" JFR.start name=costs settings=profile >/dev/null
      out2="$TMP/wrk-alloc-$t.txt"
      run_wrk "${TARGET_PORT[$t]}" "$COSTS_CONNECTIONS" "$COSTS_DURATION" "$out2"
      jcmd "$pid" JFR.stop name=costs filename="$jf" >/dev/null
      reqs2="$(wrk_requests "$out2")"
      # jdk.ThreadAllocationStatistics: bytes allocated so far per thread, at the recording's start and end
      alloc="$(jfr print --events jdk.ThreadAllocationStatistics "$jf" | awk -v n="${reqs2:-0}" '
        /allocated = / { v = $3; gsub(/[^0-9.]/, "", v); u = $4 }
        /thread = / { th = $0; sub(/.*thread = /, "", th)
          m = (u ~ /^kB/) ? 1024 : (u ~ /^MB/) ? 1048576 : (u ~ /^GB/) ? 1073741824 : 1
          b = v * m; if (!(th in first)) first[th] = b; last[th] = b }
        END { for (k in last) s += last[k] - first[k]; if (n > 0) printf "%.0f\n", s / n; else print "nan" }')"
    fi
    rss=$(( $(tree_rss_kib "${tree[@]}") / 1024 ))
    COSTS_LINES+=( "$(printf '%-14s %14s %12s %12s  %s' "$t" "$per_req" "$alloc" "$rss" "$top")" )
    RESULT_LINES+=( "RESULT costs target=$t conns=$COSTS_CONNECTIONS syscalls_per_req=$per_req alloc_bytes_per_req=$alloc rss_mib=$rss" )
  done
fi

# -------------------------------------------------------------- report ---

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
  if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" -v t="$2" -v k="$3" '$1 == c && $2 == t { print $k }' "$RESULTS"; }

echo
if [[ "$H2" == 1 ]]; then
  echo "HTTP/2 $([[ "$TLS" == 1 ]] && echo "over TLS (h2)" || echo "in clear text (h2c)"): h2load -t1 -m$H2_STREAMS;" \
    "the p50_ms column is h2load's mean latency (it reports no percentiles), p99_ms is not measured"
fi
echo "Roundhouse vs peers: wrk -t1 on CPU $LOAD_CPU; backends + proxy on CPU $PROXY_CPU;" \
  "duration $DURATION; $ROUNDS round(s), medians shown; errors = total over rounds (non-2xx/3xx + socket errors)"
for conns in $CONNECTIONS; do
  nginx_rps=""
  if [[ " $TARGETS " == *" nginx "* ]]; then nginx_rps="$(col "$conns" nginx 4 | median)"; fi
  echo
  echo "connections=$conns"
  printf '%-17s %12s %10s %10s %12s %12s %8s %10s\n' target req/s p50_ms p99_ms cpu_us/req sys_us/req errors vs_nginx
  for t in $TARGETS; do
    rps="$(col "$conns" "$t" 4 | median)"
    p50="$(col "$conns" "$t" 5 | median)"
    p99="$(col "$conns" "$t" 6 | median)"
    cpu="$(col "$conns" "$t" 7 | median)"
    sys="$(col "$conns" "$t" 10 | median)"
    errs="$(col "$conns" "$t" 8 | awk '{ s += $1 } END { print s + 0 }')"
    if [[ -n "$nginx_rps" ]]; then
      ratio="$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "nan" }')"
    else
      ratio="-"
    fi
    printf '%-17s %12.0f %10.3f %10.3f %12.2f %12.2f %8d %10s\n' "$t" "$rps" "$p50" "$p99" "$cpu" "$sys" "$errs" "$ratio"
    RESULT_LINES+=( "RESULT target=$t conns=$conns rps=$(printf '%.0f' "$rps") p50=$p50 p99=$p99 cpu_us=$(printf '%.2f' "$cpu") sys_us=$(printf '%.2f' "$sys") errors=$errs vs_nginx=$ratio rounds=$ROUNDS duration=$DURATION" )
  done
done
if [[ "$STATUS_POLL" == 1 ]]; then
  # key=value totals over the poller's reports for one connection count (files status-poll-c<conns>-r*.txt)
  poll_sum() { cat "$TMP"/status-poll-c"$1"-r*.txt 2>/dev/null | tr ' ' '\n' | awk -F= -v k="$2" '
    $1 == k { if (k ~ /max_ms$/) { if ($2 + 0 > m) m = $2 + 0 } else s += $2 } END { if (k ~ /max_ms$/) printf "%.2f\n", m; else print s + 0 }'; }
  rcol() { awk -v c="$1" -v t="$2" -v r="$3" -v k="$4" '$1 == c && $2 == t && $3 == r { print $k }' "$RESULTS"; }
  echo
  echo "roundhouse+status / roundhouse: the same process, the same load; during roundhouse+status's runs /status was asked every" \
    "${STATUS_POLL_INTERVAL}s (the status page) with one ?after=N&wait=30 held open (the operator), from CPU $LOAD_CPU. Per round" \
    "(the two ran back to back, in alternating order), then the median of the rounds' ratios; roundhouse's own spread over the" \
    "rounds (max/min req/s) for scale"
  printf '%-8s %-34s %10s %-34s %10s %12s  %s\n' conns "req/s ratio per round" median "p99 ratio per round" median rh_spread "poller (all rounds)"
  for conns in $CONNECTIONS; do
    rr=(); pr=()
    for (( r = 1; r <= ROUNDS; r++ )); do
      rr+=( "$(awk -v a="$(rcol "$conns" roundhouse+status "$r" 4)" -v b="$(rcol "$conns" roundhouse "$r" 4)" 'BEGIN { printf "%.3f\n", a / b }')" )
      pr+=( "$(awk -v a="$(rcol "$conns" roundhouse+status "$r" 6)" -v b="$(rcol "$conns" roundhouse "$r" 6)" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "nan" }')" )
    done
    rmed="$(printf '%s\n' "${rr[@]}" | median)"
    pmed="$(printf '%s\n' "${pr[@]}" | median)"
    spread="$(col "$conns" roundhouse 4 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (lo > 0) printf "%.3f\n", hi / lo; else print "nan" }')"
    polls="page=$(poll_sum "$conns" page_polls) failed=$(poll_sum "$conns" page_failures) max_ms=$(poll_sum "$conns" page_max_ms) long=$(poll_sum "$conns" long_polls) long_answered=$(poll_sum "$conns" long_answers) long_failed=$(poll_sum "$conns" long_failures)"
    printf '%-8s %-34s %10s %-34s %10s %12s  %s\n' "$conns" "${rr[*]}" "$rmed" "${pr[*]}" "$pmed" "$spread" "$polls"
    RESULT_LINES+=( "RESULT status-poll conns=$conns rps_ratio=$rmed p99_ratio=$pmed rps_ratios=$(IFS=,; echo "${rr[*]}") p99_ratios=$(IFS=,; echo "${pr[*]}") roundhouse_spread=$spread interval_s=$STATUS_POLL_INTERVAL poll_${polls// / poll_} rounds=$ROUNDS duration=$DURATION" )
  done
fi
if (( ${#COSTS_LINES[@]} > 0 )); then
  echo
  echo "per-request costs at $COSTS_CONNECTIONS connections ($COSTS_DURATION per target): system calls per request under strace -c -f"
  echo "(all threads of the target, none of the backends'), bytes allocated per request (Roundhouse: JFR, all threads), VmRSS after the runs"
  printf '%-14s %14s %12s %12s  %s\n' target syscalls/req alloc_B/req rss_MiB "top system calls per request"
  printf '%s\n' "${COSTS_LINES[@]}"
fi
echo
printf '%s\n' "${RESULT_LINES[@]}"
