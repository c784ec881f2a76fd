#!/usr/bin/env bash
# CPU a pool reload costs the proxy, per thread, with no traffic: Roundhouse on POOL_FILE
# (pinned to PROXY_CPU), the document replaced atomically CHANGES times, every INTERVAL,
# alternating between two pools (default a,b and a,b,c: one backend added, then removed).
# Reads each thread's run time from /proc/<pid>/task/<tid>/schedstat (nanoseconds the
# scheduler ran it, not tick samples) before and after, after WARMUP changes not counted.
# The backends need not exist: only the reload path runs.
#
# Environment (all optional):
#   CHANGES   changes measured                 (default 300)
#   WARMUP    changes before measuring         (default 40)
#   INTERVAL  seconds between changes          (default 0.1)
#   POOLS     "a,b;a,b,c" style: the two pools (default that; "a,b,c;c,b,a" reorders the same backends)
#   PROXY_CPU, PROXY_JAR, JAVA_OPTS (proxy JVM), READY_TIMEOUT, KEEP_TMP=1
#
# Output: one line per thread that ran, "thread ms_total ms_per_reload", and a RESULT line
# with the pool-file thread's (the reload's) ms per reload.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
BENCH_NAME=reload-cpu
# shellcheck source=lib/under-load.sh
source "$SCRIPT_DIR/lib/under-load.sh"

CHANGES="${CHANGES:-300}"
WARMUP="${WARMUP:-40}"
INTERVAL="${INTERVAL:-0.1}"
POOLS="${POOLS:-a,b;a,b,c}"
[[ "$CHANGES" =~ ^[1-9][0-9]*$ && "$WARMUP" =~ ^[0-9]+$ ]] || die "CHANGES and WARMUP must be whole numbers"
[[ -f "$PROXY_JAR" ]] || die "proxy jar not found: $PROXY_JAR (build: cd $REPO_DIR && mvn -B -q -DskipTests package)"

read -r PORT METRICS_PORT < <(free_ports 2)
POOL="$TMP/pool.json"

document() {   # document <comma-separated names>: a pool document, backend n on 127.0.0.1:(40000+index)
  python3 - "$1" <<'PY'
import json, sys
names = sys.argv[1].split(",")
urls = ["http://127.0.0.1:%d" % (40000 + ord(n[0]) - ord("a")) for n in names]
print(json.dumps({"version": 1, "backends": [{"url": u, "weight": 1} for u in urls]}))
PY
}
IFS=';' read -r POOL_A POOL_B <<<"$POOLS"
[[ -n "$POOL_A" && -n "$POOL_B" ]] || die "POOLS must be two pools separated by ';', got '$POOLS'"
DOC_A="$(document "$POOL_A")"
DOC_B="$(document "$POOL_B")"
printf '%s\n' "$DOC_A" >"$POOL"

log "starting roundhouse on CPU $PROXY_CPU, POOL_FILE=$POOL"
# shellcheck disable=SC2086  # JAVA_OPTS is a word list on purpose
start_bg "$TMP/proxy.log" env PORT="$PORT" METRICS_PORT="$METRICS_PORT" BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn \
  POOL_FILE="$POOL" taskset -c "$PROXY_CPU" java $JAVA_OPTS -jar "$PROXY_JAR"
PROXY_PID=$STARTED_PID
wait_http "http://127.0.0.1:$METRICS_PORT/readyz" "$PROXY_PID" roundhouse "$READY_TIMEOUT" "$TMP/proxy.log"

change() {   # change <n>: write pool B on even n, A on odd, atomically
  local text="$DOC_A"
  (( $1 % 2 == 0 )) && text="$DOC_B"
  printf '%s\n' "$text" >"$POOL.tmp"
  mv -f "$POOL.tmp" "$POOL"
}

run_times() {   # thread name and nanoseconds run, summed by name
  local t
  for t in /proc/"$PROXY_PID"/task/*; do
    printf '%s\t%s\n' "$(cat "$t/comm" 2>/dev/null || echo gone)" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)"
  done | awk -F'\t' '{ a[$1] += $2 } END { for (k in a) printf "%s\t%d\n", k, a[k] }' | sort
}

applied() { curl -fs --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" \
  | awk '/^roundhouse_config_reloads_total\{result="applied"\}/ { print int($2) }'; }

for (( i = 0; i < WARMUP; i++ )); do change "$i"; sleep "$INTERVAL"; done
sleep 1
before_applied="$(applied)"
run_times >"$TMP/before.tsv"
for (( i = WARMUP; i < WARMUP + CHANGES; i++ )); do change "$i"; sleep "$INTERVAL"; done
sleep 1
run_times >"$TMP/after.tsv"
reloads=$(( $(applied) - before_applied ))
(( reloads > 0 )) || die "no reload was applied (see $TMP/proxy.log)"
log "$CHANGES changes written, $reloads reloads applied"

echo
printf '%-20s %12s %16s\n' thread ms_total ms_per_reload
join -t $'\t' "$TMP/before.tsv" "$TMP/after.tsv" | awk -F'\t' -v n="$reloads" '$3 > $2 {
  printf "%-20s %12.1f %16.4f\n", $1, ($3 - $2) / 1e6, ($3 - $2) / 1e6 / n }'
per_reload="$(join -t $'\t' "$TMP/before.tsv" "$TMP/after.tsv" | awk -F'\t' -v n="$reloads" '$1 == "pool-file" { printf "%.4f", ($3 - $2) / 1e6 / n }')"
echo
echo "RESULT reload_cpu_ms=${per_reload:-nan} reloads=$reloads pools=$POOLS interval=$INTERVAL"
