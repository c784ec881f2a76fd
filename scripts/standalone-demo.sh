#!/usr/bin/env bash
# Builds Roundhouse, starts two demo backends on ports 3000 and 3001, and runs the proxy in front
# of them exactly as a user runs it standalone. Ctrl-C stops everything (the proxy drains first).
set -euo pipefail
cd "$(dirname "$0")/.."

mvn -B -q -Dstyle.color=never -DskipTests package

java -cp e2e/target/roundhouse-local.jar dev.roundhouse.e2e.demo.DemoBackends 3000 3001 &
backends=$!
trap 'kill "$backends" 2>/dev/null || true; wait "$backends" 2>/dev/null || true' EXIT

cat <<'TRY'
Roundhouse proxy starting on :8080 in front of http://localhost:3000 and http://localhost:3001.
Try, in another terminal:
  curl localhost:8080              # answers alternate between demo-backend-1 and demo-backend-2
  curl localhost:9090/metrics      # Prometheus metrics (roundhouse_*, resilience4j_*, jvm_*)
  curl localhost:9090/readyz
Ctrl-C stops the proxy (it drains in-flight requests) and the demo backends.
TRY

PORT="${PORT:-8080}" METRICS_PORT="${METRICS_PORT:-9090}" LOG_LEVEL="${LOG_LEVEL:-info}" \
  HEALTH_CHECK_PATH=/healthz \
  BACKENDS=http://localhost:3000,http://localhost:3001 \
  java -jar proxy/target/roundhouse-proxy.jar
