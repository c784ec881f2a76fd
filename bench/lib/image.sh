# shellcheck shell=bash
# The proxy as its image runs it, for the benchmarks (sourced, not run): the proxy Dockerfile's COPY'd files laid out
# in a directory standing for the image's /app, its class archive written by the Dockerfile's own -Xshare:dump step
# (its RUN line, run with this machine's java), and its ENTRYPOINT with /app at that directory.
#
# The sourcing script sets REPO_DIR, TMP and PROXY_JAR first, and has log and die.
#
#   image_layout <dir>        lays out <dir>, writes the archive; sets IMAGE_ENTRYPOINT (java first, then its
#                             flags, -jar and the jar) and IMAGE_JVM_FLAGS (the flags alone)

IMAGE_DOCKERFILE="$REPO_DIR/proxy/Dockerfile"

image_dockerfile_array() {   # image_dockerfile_array <instruction> <marker> <app dir>: its JSON array, one a line
  python3 - "$IMAGE_DOCKERFILE" "$1" "$2" "$3" <<'PY'
import json, sys
path, instruction, marker, app = sys.argv[1:]
for line in open(path):
    parts = line.strip().split(None, 1)
    if len(parts) == 2 and parts[0] == instruction and marker in parts[1]:
        for arg in json.loads(parts[1]):
            print(arg.replace("/app/", app + "/"))
        sys.exit(0)
sys.exit("no " + instruction + " with " + marker + " in " + path)
PY
}

image_layout() {
  local app="$1" dump
  rm -rf "$app" && mkdir -p "$app"
  cp -r "$(dirname "$PROXY_JAR")/lib" "$app/lib"
  cp "$PROXY_JAR" "$app/roundhouse-proxy.jar"
  cp "$REPO_DIR/proxy/src/main/cds/proxy.classlist" "$app/proxy.classlist"
  mapfile -t dump < <(image_dockerfile_array RUN -Xshare:dump "$app")
  mapfile -t IMAGE_ENTRYPOINT < <(image_dockerfile_array ENTRYPOINT -jar "$app")
  (( ${#dump[@]} > 1 && ${#IMAGE_ENTRYPOINT[@]} > 3 )) || die "cannot read the dump step or ENTRYPOINT of $IMAGE_DOCKERFILE"
  log "writing the class archive as the proxy Dockerfile does"
  (cd "$app" && "${dump[@]}" >"$app/dump.log" 2>&1) || { cat "$app/dump.log" >&2; die "the dump step failed"; }
  local n=${#IMAGE_ENTRYPOINT[@]}
  IMAGE_JVM_FLAGS=( "${IMAGE_ENTRYPOINT[@]:1:n-3}" )
}
