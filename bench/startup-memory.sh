#!/usr/bin/env bash
# Start-up and memory: how long a proxy takes from its process starting to answering ready, and its resident
# memory idle and under load, Roundhouse as its image runs it against nginx.
#
# Roundhouse runs as the operator's Deployment runs its image: the proxy Dockerfile's ENTRYPOINT flags (read from
# proxy/Dockerfile), its JVM limited to the container's memory (-XX:MaxRAM=MEMORY_LIMIT, what the JVM reads from the
# cgroup in a pod), the Deployment's settings (JSON logs, POOL_CONFIGMAP), the pool ConfigMap on the project's
# embedded API server (dev.roundhouse.bench.reload.ApiServerMain, on LOAD_CPU). Its class-data sharing archive is
# written first by the Dockerfile's own dump step (its RUN line, run here with this machine's java, into a copy of
# the image's /app). "ready" is /readyz answering 200: the pool is loaded and the traffic port bound.
#
# Targets, each started ROUNDS times, interleaved:
#   nginx                 one master and one worker (as an nginx ingress pod runs), proxying to the backend;
#                         ready is its first 200 through to the backend
#   roundhouse            the Dockerfile's image: with the archive
#   roundhouse-no-archive the same without the archive flag: what the Jib image runs (Jib writes no archive)
#
# For each start: ms to ready; RSS (all the target's processes) IDLE_SETTLE after ready; then wrk at
# LOAD_CONNECTIONS for LOAD_DURATION through it, RSS sampled every 200 ms (peak and at the end) and its req/s.
# Prints medians per target, and one "RESULT target=... ready_ms=... rss_idle_mib=... rss_load_peak_mib=..." line
# each.
#
# CPU layout (2 cores): the backend and the proxy under test on PROXY_CPU (a proxy pod's one CPU), wrk and the API
# server on LOAD_CPU. CPUS="0,1" gives the proxy both.
#
# Environment (all optional):
#   TARGETS          default "nginx roundhouse roundhouse-no-archive"
#   ROUNDS           starts per target (default 5)
#   MEMORY_LIMIT     the container memory limit the JVM is given (default 256m: the Deployment's)
#   IDLE_SETTLE      wait after ready before the idle RSS (default 2s)
#   LOAD_CONNECTIONS default 64            LOAD_DURATION  default 10s
#   CPUS             the proxy's CPUs, a taskset list (default PROXY_CPU)
#   PROXY_CPU, LOAD_CPU, PROXY_JAR, BENCH_JAR, JAVA_OPTS (added to Roundhouse's flags), READY_TIMEOUT, KEEP_TMP=1
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_NAME=startup-memory
# shellcheck source=lib/under-load.sh
source "$SCRIPT_DIR/lib/under-load.sh"
# shellcheck source=lib/image.sh
source "$SCRIPT_DIR/lib/image.sh"

TARGETS="${TARGETS:-nginx roundhouse roundhouse-no-archive}"
ROUNDS="${ROUNDS:-5}"
MEMORY_LIMIT="${MEMORY_LIMIT:-256m}"
IDLE_SETTLE="${IDLE_SETTLE:-2}"
LOAD_CONNECTIONS="${LOAD_CONNECTIONS:-64}"
LOAD_DURATION="${LOAD_DURATION:-10s}"
CPUS="${CPUS:-$PROXY_CPU}"
WRK_BIN="$(find_bin "${WRK_BIN:-/usr/bin/wrk}" wrk)"
need_jars proxy

read -r BACKEND_PORT1 PROXY_PORT METRICS_PORT <<<"$(free_ports 3)"
start_backend b1 "$BACKEND_PORT1"

# ---------------------------------------------------------------- the image's /app, and its archive ---

APP="$TMP/app"
image_layout "$APP"

# ---------------------------------------------------------------- the pool ConfigMap ---

cat >"$TMP/pool.json" <<EOF
{"version":1,"backends":[{"url":"http://127.0.0.1:$BACKEND_PORT1","weight":1}]}
EOF
log "starting the embedded API server (CPU $LOAD_CPU)"
# shellcheck disable=SC2086  # DRIVER_JAVA_OPTS is a word list on purpose
start_bg "$TMP/apiserver.log" taskset -c "$LOAD_CPU" java $DRIVER_JAVA_OPTS -cp "$BENCH_JAR" \
  dev.roundhouse.bench.reload.ApiServerMain --kubeconfig "$TMP/kubeconfig" \
  --configmap default/web-pool --pool-file "$TMP/pool.json"
deadline=$(( SECONDS + READY_TIMEOUT ))
until [[ -s "$TMP/kubeconfig" ]]; do
  (( SECONDS < deadline )) || die "API server not ready"
  sleep 0.1
done

# ---------------------------------------------------------------- nginx ---

mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
error_log $TMP/nginx/logs/error.log warn;
pid $TMP/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backends { server 127.0.0.1:$BACKEND_PORT1; keepalive 64; }
  server {
    listen 127.0.0.1:$PROXY_PORT reuseport;
    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF

# ---------------------------------------------------------------- the rounds ---

python3 - "$TMP" "$ROUNDS" "$IDLE_SETTLE" "$LOAD_CONNECTIONS" "$LOAD_DURATION" "$LOAD_CPU" "$CPUS" \
  "$PROXY_PORT" "$METRICS_PORT" "$READY_TIMEOUT" "$WRK_BIN" "$NGINX_BIN" "$MEMORY_LIMIT" "${JAVA_OPTS:-}" \
  "$TARGETS" "${IMAGE_ENTRYPOINT[@]}" <<'PY'
import http.client, os, re, signal, statistics, subprocess, sys, time

(tmp, rounds, settle, conns, duration, load_cpu, cpus, port, metrics_port, ready_timeout, wrk, nginx,
 memory, java_opts, targets) = sys.argv[1:16]
entrypoint = sys.argv[16:]
rounds, settle, ready_timeout = int(rounds), float(settle), float(ready_timeout)
targets = targets.split()

def children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out

def rss_kib(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+)", f.read())
                total += int(m.group(1)) if m else 0
        except OSError:
            continue
        todo += children(p)
    return total

def answers(p, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", p, timeout=0.5)
        c.request("GET", path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False

def command(target):
    if target == "nginx":
        return ["taskset", "-c", cpus, nginx, "-p", f"{tmp}/nginx", "-c", f"{tmp}/nginx/nginx.conf"], None, (int(port), "/")
    flags = [a for a in entrypoint[1:] if target == "roundhouse" or not a.startswith("-XX:SharedArchiveFile=")]
    jar = flags.index("-jar")
    flags = flags[:jar] + [f"-XX:MaxRAM={memory}"] + java_opts.split() + flags[jar:]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "PORT": port, "METRICS_PORT": metrics_port, "BIND_ADDRESS": "127.0.0.1",
           "LOG_FORMAT": "json", "LOG_LEVEL": "info", "POOL_CONFIGMAP": "web-pool", "POD_NAMESPACE": "default",
           "KUBECONFIG": f"{tmp}/kubeconfig", "SHUTDOWN_DELAY": "0s", "SHUTDOWN_TIMEOUT": "30s"}
    return ["taskset", "-c", cpus, entrypoint[0]] + flags, env, (int(metrics_port), "/readyz")

def one(target, round_no):
    cmd, env, (ready_port, ready_path) = command(target)
    log = open(f"{tmp}/{target}-{round_no}.log", "w")
    started = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    while not answers(ready_port, ready_path):
        if p.poll() is not None:
            sys.exit(f"{target} exited during start-up, see {log.name}")
        if time.monotonic() - started > ready_timeout:
            p.kill()
            sys.exit(f"{target} not ready after {ready_timeout} s, see {log.name}")
        time.sleep(0.002)
    ready_ms = (time.monotonic() - started) * 1000
    time.sleep(settle)
    idle = rss_kib(p.pid)
    w = subprocess.Popen(["taskset", "-c", load_cpu, wrk, "-t1", f"-c{conns}", f"-d{duration}",
                          f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, text=True)
    peak = 0
    while w.poll() is None:
        peak = max(peak, rss_kib(p.pid))
        time.sleep(0.2)
    out = w.stdout.read()
    end = rss_kib(p.pid)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p.send_signal(signal.SIGTERM if target != "nginx" else signal.SIGQUIT)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return {"ready_ms": ready_ms, "idle": idle / 1024, "peak": peak / 1024, "end": end / 1024,
            "rps": float(m.group(1)) if m else 0.0, "errors": int(errors.group(1)) if errors else 0}

results = {t: [] for t in targets}
for r in range(rounds):
    order = targets if r % 2 == 0 else list(reversed(targets))
    for t in order:
        res = one(t, r)
        results[t].append(res)
        print(f"[round {r + 1}/{rounds}] {t}: ready {res['ready_ms']:.0f} ms, RSS idle {res['idle']:.1f} MiB,"
              f" under load peak {res['peak']:.1f} MiB, {res['rps']:.0f} req/s", file=sys.stderr, flush=True)

print(f"Start-up and memory: proxy on CPU(s) {cpus}, JVM memory limit {memory}; medians of {rounds} starts")
print(f"{'target':<24}{'ready_ms':>10}{'rss_idle_MiB':>14}{'rss_load_peak_MiB':>19}{'rss_load_end_MiB':>18}"
      f"{'load_req/s':>12}{'errors':>8}")
for t in targets:
    rs = results[t]
    med = {k: statistics.median(x[k] for x in rs) for k in ("ready_ms", "idle", "peak", "end", "rps")}
    errs = sum(x["errors"] for x in rs)
    print(f"{t:<24}{med['ready_ms']:>10.0f}{med['idle']:>14.1f}{med['peak']:>19.1f}{med['end']:>18.1f}"
          f"{med['rps']:>12.0f}{errs:>8}")
for t in targets:
    rs = results[t]
    print(f"RESULT target={t} cpus={cpus} memory_limit={memory} ready_ms={statistics.median(x['ready_ms'] for x in rs):.0f}"
          f" ready_ms_min={min(x['ready_ms'] for x in rs):.0f} ready_ms_max={max(x['ready_ms'] for x in rs):.0f}"
          f" rss_idle_mib={statistics.median(x['idle'] for x in rs):.1f}"
          f" rss_load_peak_mib={statistics.median(x['peak'] for x in rs):.1f}"
          f" rps={statistics.median(x['rps'] for x in rs):.0f} errors={sum(x['errors'] for x in rs)}")
PY
