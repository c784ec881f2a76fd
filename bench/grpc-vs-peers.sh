#!/usr/bin/env bash
# gRPC through Roundhouse vs. nginx (grpc_pass) vs. HAProxy (HTTP/2 both sides): the same two grpc-java backends,
# the same load, the same CPU.
#
# Each proxy balances unary calls round-robin over two gRPC backends (grpc-java, h2c; the test-support GrpcBackend,
# roundhouse.demo.Greeter/Hello), one worker/thread each, no access logs, and is loaded with the project's own
# grpc-java load generator (dev.roundhouse.bench.grpc.GrpcLoad: CONNECTIONS HTTP/2 connections, each with CONCURRENCY
# calls in flight, closed loop). Targets are interleaved within each round; the table shows medians over rounds.
#
# Then the demonstration the issue asks for: ONE client connection, through each proxy and straight to one backend as
# a Kubernetes Service would pin it (kube-proxy balances connections, and one HTTP/2 connection carries every call):
# how that connection's calls spread over the backends.
#
# CPU layout (2 cores): backends + the proxy under test on PROXY_CPU, the load generator on LOAD_CPU.
#
# Environment (all optional):
#   TARGETS       targets, in order                 (default "nginx haproxy roundhouse")
#   CONNECTIONS   client connections                (default 4)
#   CONCURRENCY   calls in flight per connection    (default 16)
#   DURATION      seconds measured per run          (default 10)
#   ROUNDS        rounds                            (default 3)
#   WARMUP        seconds of warm-up per run, not counted (default 2); the backends (JVMs too) get BACKEND_WARMUP
#                 seconds of calls made to them directly first (default 30), and Roundhouse one whole run of
#                 JVM_WARMUP seconds (default 30)
#   BACKEND_CPU   CPU of the two gRPC backends        (default PROXY_CPU, as proxy-vs-peers.sh places its backends)
#   PROXY_CPU, LOAD_CPU                             (default 1 and 0)
#   PROXY_JAR     (default <repo>/proxy/target/roundhouse-proxy.jar)
#   BENCH_JAR     (default <repo>/bench/target/roundhouse-bench.jar)
#   KEEP_TMP      1 = keep the temp dir (configs, logs)
#
# CPU per call: the target's processes' CPU time (/proc, user + system) over a whole run, warm-up included, divided by
# every call answered in it: what each proxy spends per call whatever else shares its core (the backends do).
#
# Output: progress lines, a table of medians, "RESULT target=... calls_per_s=... p50_ms=... p99_ms=..." lines, and
# the spread of one connection's calls per target ("SPREAD target=... backends=b1:N,b2:M").
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"

TARGETS="${TARGETS:-nginx haproxy roundhouse}"
CONNECTIONS="${CONNECTIONS:-4}"
CONCURRENCY="${CONCURRENCY:-16}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-2}"
JVM_WARMUP="${JVM_WARMUP:-30}"
BACKEND_WARMUP="${BACKEND_WARMUP:-30}"
PROXY_CPU="${PROXY_CPU:-1}"
LOAD_CPU="${LOAD_CPU:-0}"
BACKEND_CPU="${BACKEND_CPU:-$PROXY_CPU}"
PROXY_JAR="${PROXY_JAR:-$REPO_DIR/proxy/target/roundhouse-proxy.jar}"
BENCH_JAR="${BENCH_JAR:-$REPO_DIR/bench/target/roundhouse-bench.jar}"

for tool in java taskset; do
  command -v "$tool" >/dev/null || { echo "grpc-vs-peers: $tool not found" >&2; exit 1; }
done
for target in $TARGETS; do
  case "$target" in
    nginx|haproxy) command -v "$target" >/dev/null || { echo "grpc-vs-peers: $target not installed" >&2; exit 1; } ;;
    roundhouse) [ -f "$PROXY_JAR" ] || { echo "grpc-vs-peers: $PROXY_JAR missing (mvn -B package -DskipTests)" >&2; exit 1; } ;;
    *) echo "grpc-vs-peers: unknown target $target" >&2; exit 1 ;;
  esac
done
[ -f "$BENCH_JAR" ] || { echo "grpc-vs-peers: $BENCH_JAR missing (mvn -B package -DskipTests)" >&2; exit 1; }

TMP="$(mktemp -d /tmp/grpc-vs-peers.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [ "${KEEP_TMP:-0}" = 1 ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

await_port() { # port, what
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "grpc-vs-peers: $2 did not listen on $1" >&2
  exit 1
}

B1="$(free_port)"; B2="$(free_port)"
declare -A PORT
declare -A TARGET_PID
for target in $TARGETS; do PORT[$target]="$(free_port)"; done
RH_METRICS="$(free_port)"

echo "# backends: grpc-java on 127.0.0.1:$B1 and :$B2 (CPU $BACKEND_CPU); proxies on CPU $PROXY_CPU; load on CPU $LOAD_CPU"
mkfifo "$TMP/servers.in"
taskset -c "$BACKEND_CPU" java -cp "$BENCH_JAR" dev.roundhouse.bench.grpc.GrpcServers "$B1" "$B2" \
  <"$TMP/servers.in" >"$TMP/servers.log" 2>&1 &
PIDS+=($!)
exec 4>"$TMP/servers.in" # held open: the servers run until it closes
await_port "$B1" "backend 1"; await_port "$B2" "backend 2"

start_nginx() {
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  upstream grpc_backends {
    server 127.0.0.1:$B1;
    server 127.0.0.1:$B2;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} http2;
    location / { grpc_pass grpc://grpc_backends; }
  }
}
EOF
  taskset -c "$PROXY_CPU" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
  PIDS+=($!)
  TARGET_PID[nginx]=$!
  await_port "${PORT[nginx]}" nginx
}

start_haproxy() {
  cat >"$TMP/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 3s
  timeout client 60s
  timeout server 60s
frontend grpc
  bind 127.0.0.1:${PORT[haproxy]} proto h2
  default_backend grpc_backends
backend grpc_backends
  balance roundrobin
  server b1 127.0.0.1:$B1 proto h2
  server b2 127.0.0.1:$B2 proto h2
EOF
  taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
  PIDS+=($!)
  TARGET_PID[haproxy]=$!
  await_port "${PORT[haproxy]}" haproxy
}

start_roundhouse() {
  PORT="${PORT[roundhouse]}" METRICS_PORT="$RH_METRICS" BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn \
    BACKENDS="http://127.0.0.1:$B1;protocol=h2c,http://127.0.0.1:$B2;protocol=h2c" \
    HEALTH_CHECK_GRPC_SERVICE= \
    taskset -c "$PROXY_CPU" java ${JAVA_OPTS:-} -jar "$PROXY_JAR" >"$TMP/roundhouse.log" 2>&1 &
  PIDS+=($!)
  TARGET_PID[roundhouse]=$!
  await_port "${PORT[roundhouse]}" roundhouse
}

cpu_ticks() { # pid: user + system clock ticks of it and its children (nginx's worker)
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICKS_PER_S="$(getconf CLK_TCK)"

load() { # port, connections, concurrency, warmup, duration
  taskset -c "$LOAD_CPU" java -cp "$BENCH_JAR" dev.roundhouse.bench.grpc.GrpcLoad \
    --target "127.0.0.1:$1" --connections "$2" --concurrency "$3" --warmup "$4" --duration "$5" | grep '^RESULT'
}

echo "# backends: warm-up, ${BACKEND_WARMUP}s of calls straight to them"
load "$B1" "$CONNECTIONS" "$CONCURRENCY" 0 "$BACKEND_WARMUP" >/dev/null &
load "$B2" "$CONNECTIONS" "$CONCURRENCY" 0 "$BACKEND_WARMUP" >/dev/null
wait %% 2>/dev/null || true
for target in $TARGETS; do "start_$target"; done
if [[ " $TARGETS " == *" roundhouse "* ]]; then
  echo "# roundhouse: JVM warm-up, ${JVM_WARMUP}s"
  load "${PORT[roundhouse]}" "$CONNECTIONS" "$CONCURRENCY" 0 "$JVM_WARMUP" >/dev/null
fi

declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
  for target in $TARGETS; do
    before="$(cpu_ticks "${TARGET_PID[$target]}")"
    line="$(load "${PORT[$target]}" "$CONNECTIONS" "$CONCURRENCY" "$WARMUP" "$DURATION")"
    after="$(cpu_ticks "${TARGET_PID[$target]}")"
    all="$(printf '%s' "$line" | grep -o 'all_calls=[0-9]*' | cut -d= -f2)"
    cpu_us="$(awk -v t=$((after - before)) -v hz="$TICKS_PER_S" -v n="$all" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')"
    echo "round $round $target: ${line#RESULT } cpu_us_per_call=$cpu_us"
    RESULTS[$target]+="${line#RESULT } cpu_us_per_call=$cpu_us"$'\n'
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { grep -o "$1=[^ ]*" | cut -d= -f2; }

echo
echo "gRPC unary calls: $CONNECTIONS connections x $CONCURRENCY in flight, ${DURATION}s x $ROUNDS rounds, medians"
printf '%-12s %12s %10s %10s %12s %8s\n' target calls/s p50_ms p99_ms cpu_us/call errors
for target in $TARGETS; do
  rate="$(printf '%s' "${RESULTS[$target]}" | field calls_per_s | median)"
  p50="$(printf '%s' "${RESULTS[$target]}" | field p50_ms | median)"
  p99="$(printf '%s' "${RESULTS[$target]}" | field p99_ms | median)"
  cpu="$(printf '%s' "${RESULTS[$target]}" | field cpu_us_per_call | median)"
  errors="$(printf '%s' "${RESULTS[$target]}" | field errors | awk '{ s += $1 } END { print s + 0 }')"
  printf '%-12s %12.0f %10.3f %10.3f %12.1f %8d\n' "$target" "$rate" "$p50" "$p99" "$cpu" "$errors"
  echo "RESULT target=$target conns=$CONNECTIONS concurrency=$CONCURRENCY calls_per_s=$rate p50_ms=$p50 p99_ms=$p99 cpu_us_per_call=$cpu errors=$errors"
done

echo
echo "One client connection (1 in flight, 3 s): where its calls go"
for target in $TARGETS; do
  spread="$(load "${PORT[$target]}" 1 1 1 3 | field backends)"
  echo "SPREAD target=$target backends=$spread"
done
# A Kubernetes Service: kube-proxy picks a backend per connection, and that connection is this client's only one.
spread="$(load "$B1" 1 1 1 3 | field backends)"
echo "SPREAD target=kubernetes-service backends=$spread (kube-proxy picked one pod for the connection)"
