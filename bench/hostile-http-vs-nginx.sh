#!/usr/bin/env bash
# Roundhouse and nginx side by side on the proxy's hostile HTTP corpora
# (proxy/src/test/resources/hostile/*.corpus): every request case sent to each proxy in front of a recording
# backend, every backend-response case tried with a GET, a Content-Length POST and a chunked POST. Prints two
# Markdown tables: what each proxy answered, and what reached the backend or the next request. The nginx column of
# docs/http-conformance.md comes from this.
#
# Needs: java, mvn, nginx (Debian's nginx or nginx-light; NGINX_BIN to point elsewhere). Takes about six minutes:
# nginx leaves many malformed responses unanswered, and each such case waits out the 5 s read timeout.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
die() { echo "hostile-http-vs-nginx: $*" >&2; exit 2; }
[[ -x "$NGINX_BIN" ]] || die "nginx not found at $NGINX_BIN (apt-get install nginx-light, or set NGINX_BIN)"
command -v java >/dev/null 2>&1 || die "java not found"
command -v mvn >/dev/null 2>&1 || die "mvn not found"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "# $("$NGINX_BIN" -v 2>&1), $(java -version 2>&1 | head -n 1), $(date -u +%Y-%m-%d)" >&2
(cd "$REPO_DIR" && mvn -B -q -DskipTests -pl proxy -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$TMP/classpath" >&2)
CP="$REPO_DIR/proxy/target/test-classes:$REPO_DIR/proxy/target/classes:$REPO_DIR/pool-format/target/classes:$(cat "$TMP/classpath")"
LOG_LEVEL=error java -cp "$CP" dev.roundhouse.proxy.testing.HostileCorpusComparison "$NGINX_BIN"
