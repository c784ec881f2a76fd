#!/usr/bin/env bash
# Roundhouse on a local kind cluster: builds both images, loads them into the cluster, installs the chart,
# runs three demo backends behind a LoadBalancer and curls it.
#   e2e/kind/kind.sh        set up (again) and curl
#   e2e/kind/kind.sh down   delete the kind cluster
# Needs docker (with a running engine), kind, kubectl, helm, and Java 17 + Maven for the build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/e2e/kind"
CLUSTER="${KIND_CLUSTER_NAME:-roundhouse}"
CONTEXT="kind-$CLUSTER"
# The tags e2e/kind/values.yaml installs the chart with (KindManifestsTest checks that they agree).
OPERATOR_IMAGE=roundhouse/operator:dev
PROXY_IMAGE=roundhouse/proxy:dev
RELEASE=roundhouse
NAMESPACE=roundhouse-system
DEMO_NAMESPACE=roundhouse-demo
LB=demo                  # loadbalancer.yaml; the operator names the proxies' Service after it
LB_PORT=80               # its spec.port: a privileged port, which the Service takes, not the proxy
LOCAL_PORT="${LOCAL_PORT:-8080}"

say() { printf '\n==> %s\n' "$*"; }

k() { kubectl --context "$CONTEXT" "$@"; }

# A client pod sending one request per connection to the LoadBalancer's Service for $1 seconds, from inside the
# cluster (through kube-proxy, as clients reach it); prints its name once it runs.
load_start() {
  local name="load-$RANDOM"
  k -n "$DEMO_NAMESPACE" run "$name" --image=curlimages/curl:8.11.1 --restart=Never --command -- sh -c \
    "ok=0; failed=0; end=\$((\$(date +%s) + $1)); while [ \$(date +%s) -lt \$end ]; do
       if curl -fsS -o /dev/null --max-time 5 http://$LB:$LB_PORT/hostname; then ok=\$((ok + 1)); else failed=\$((failed + 1)); fi
     done; echo ok=\$ok failed=\$failed; [ \$failed -eq 0 ]" >/dev/null
  k -n "$DEMO_NAMESPACE" wait --for=condition=Ready "pod/$name" --timeout 2m >/dev/null
  echo "$name"
}

# Waits for the client pod $1 to end; fails when any of its requests failed.
load_check() {
  if ! k -n "$DEMO_NAMESPACE" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$1" --timeout 4m >/dev/null; then
    echo "kind.sh: requests failed under load: $(k -n "$DEMO_NAMESPACE" logs "$1")" >&2
    return 1
  fi
  echo "under load: $(k -n "$DEMO_NAMESPACE" logs "$1")"
  k -n "$DEMO_NAMESPACE" delete pod "$1" --wait=false >/dev/null
}

require() {
  local missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    echo "kind.sh: missing on PATH: ${missing[*]}" >&2
    echo "  docker: https://docs.docker.com/engine/install/  kind: https://kind.sigs.k8s.io/" >&2
    echo "  kubectl: https://kubernetes.io/docs/tasks/tools/  helm: https://helm.sh/docs/intro/install/" >&2
    exit 1
  fi
}

down() {
  require kind
  kind delete cluster --name "$CLUSTER"
}

up() {
  require docker kind kubectl helm mvn curl
  if ! docker info >/dev/null 2>&1; then
    echo "kind.sh: docker is installed but no Docker engine answers (is the daemon running?)" >&2
    exit 1
  fi

  say "Building the jars"
  (cd "$ROOT" && mvn -B -q package -DskipTests)

  say "Building $OPERATOR_IMAGE and $PROXY_IMAGE"
  docker build -t "$OPERATOR_IMAGE" "$ROOT/operator"
  docker build -t "$PROXY_IMAGE" "$ROOT/proxy"

  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    say "Using the existing kind cluster $CLUSTER"
  else
    say "Creating the kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --config "$HERE/cluster.yaml" --wait 120s
  fi

  say "Loading the images into $CLUSTER"
  kind load docker-image --name "$CLUSTER" "$OPERATOR_IMAGE" "$PROXY_IMAGE"

  say "Installing the chart"
  # Helm installs crds/ only on first install and never upgrades them: apply the current CRD first.
  k apply --server-side -f "$ROOT/charts/roundhouse/crds/"
  k wait --for=condition=Established crd/loadbalancers.roundhouse.dev --timeout 1m
  local upgrading=false
  helm --kube-context "$CONTEXT" status "$RELEASE" -n "$NAMESPACE" >/dev/null 2>&1 && upgrading=true
  helm --kube-context "$CONTEXT" upgrade --install "$RELEASE" "$ROOT/charts/roundhouse" \
    -n "$NAMESPACE" --create-namespace -f "$HERE/values.yaml" --wait --timeout 5m
  if $upgrading; then
    # Same tags, new images: restart so that the pods run what was just built.
    k -n "$NAMESPACE" rollout restart deployment "$RELEASE"
    k -n "$NAMESPACE" rollout status deployment "$RELEASE" --timeout 3m
    if k -n "$DEMO_NAMESPACE" get deployment "$LB-proxy" >/dev/null 2>&1; then
      k -n "$DEMO_NAMESPACE" rollout restart deployment "$LB-proxy"
    fi
  fi

  say "Starting three demo backends"
  k apply -f "$HERE/backends.yaml"
  k -n "$DEMO_NAMESPACE" rollout status deployment demo-backends --timeout 3m

  say "Creating LoadBalancer $LB"
  k apply -f "$HERE/loadbalancer.yaml"
  k -n "$DEMO_NAMESPACE" wait --for=condition=Ready "lb/$LB" --timeout 3m
  k -n "$DEMO_NAMESPACE" rollout status deployment "$LB-proxy" --timeout 3m
  k -n "$DEMO_NAMESPACE" get lb "$LB"

  say "Port-forwarding localhost:$LOCAL_PORT to service/$LB:$LB_PORT"
  k -n "$DEMO_NAMESPACE" port-forward "service/$LB" "$LOCAL_PORT:$LB_PORT" >/dev/null &
  FORWARD_PID=$!
  trap 'kill "$FORWARD_PID" 2>/dev/null || true' EXIT
  curl -fsS --retry 20 --retry-connrefused --retry-delay 1 -o /dev/null "http://localhost:$LOCAL_PORT/hostname"

  say "Six requests through the proxy (round-robin over the three backends)"
  for i in 1 2 3 4 5 6; do
    printf 'request %d -> %s\n' "$i" "$(curl -fsS "http://localhost:$LOCAL_PORT/hostname")"
  done

  say "A rollout of the proxies under load (every request must succeed)"
  local load
  load="$(load_start 45)"
  k -n "$DEMO_NAMESPACE" rollout restart deployment "$LB-proxy"
  k -n "$DEMO_NAMESPACE" rollout status deployment "$LB-proxy" --timeout 3m
  load_check "$load"

  say "A drain of the node under one proxy: the PodDisruptionBudget lets one go at a time (every request must succeed)"
  local node
  node="$(k -n "$DEMO_NAMESPACE" get pods -l app.kubernetes.io/instance="$LB",app.kubernetes.io/name=roundhouse-proxy \
    -o jsonpath='{.items[0].spec.nodeName}')"
  load="$(load_start 45)"
  # Only the proxies are evicted: the backends' own churn is not what this checks.
  k drain "$node" --pod-selector=app.kubernetes.io/name=roundhouse-proxy --ignore-daemonsets --timeout 3m
  k -n "$DEMO_NAMESPACE" rollout status deployment "$LB-proxy" --timeout 3m
  load_check "$load"
  k uncordon "$node"

  cat <<DONE

Done. Try it yourself:
  kubectl --context $CONTEXT -n $DEMO_NAMESPACE port-forward service/$LB $LOCAL_PORT:$LB_PORT &
  curl localhost:$LOCAL_PORT/hostname
  kubectl --context $CONTEXT -n $DEMO_NAMESPACE scale deployment demo-backends --replicas 5   # the pool follows
Delete everything: e2e/kind/kind.sh down
DONE
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 [up|down]" >&2; exit 2 ;;
esac
