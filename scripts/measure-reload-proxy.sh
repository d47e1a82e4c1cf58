#!/bin/bash
# The reload proxy's cost (docs/reload.md): wrk against `tsuv app.ts` and `tsuv app.ts --reload`,
# alternated twice. Usage: bash scripts/measure-reload-proxy.sh bun|deno [CONNECTIONS] (needs wrk, curl).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
C=${2:-16}
R=$1
D=$(mktemp -d /tmp/tsuv-oh-XXXX)
echo 'export default { fetch: () => new Response("hello world") };' > $D/app.ts
case $R in
  bun) CMD=($ROOT/node_modules/.bin/bun $ROOT/src/cli.ts) ;;
  deno) CMD=($ROOT/node_modules/.bin/deno run -A --config=$ROOT/deno.json $ROOT/src/cli.ts) ;;
esac
run() { # $1 label, rest: extra args
  local label=$1; shift
  local port=$((20000 + RANDOM % 20000))
  (cd $D && exec "${CMD[@]}" app.ts --port $port --no-access-log --log-level warning "$@") & local pid=$!
  for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.1; done
  wrk -t1 -c$C -d1s http://127.0.0.1:$port/ >/dev/null 2>&1
  local out=$(wrk -t1 -c$C -d5s --latency http://127.0.0.1:$port/)
  echo "$R $label: $(echo "$out" | grep Requests/sec) p50 $(echo "$out" | awk '/ 50%/{print $2}') p99 $(echo "$out" | awk '/ 99%/{print $2}')"
  kill -TERM $pid; wait $pid 2>/dev/null
}
for round in 1 2; do run plain; run reload --reload; done
rm -rf $D
