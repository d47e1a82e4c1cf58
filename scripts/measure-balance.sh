#!/usr/bin/env bash
# How a burst of keep-alive connections is spread over the workers, and what that does to throughput
# (docs/workers.md, "Connection balance"): starts CMD (PORT is in its environment), then ROUNDS times
# opens 50 connections at once with `wrk -t1 -c50 -d3s`, and prints each round's req/s with the
# connections per server process as `ss` saw them 1.5 s in (a thread class shows one process).
#   bash scripts/measure-balance.sh ROUNDS PORT CMD...
# e.g. bash scripts/measure-balance.sh 12 8181 node dist/cli.mjs bench/apps/spin.ts --port 8181 --workers 2
# Linux only (ss from iproute2, wrk, curl).
set -uo pipefail
ROUNDS=$1
PORT=$2
shift 2
PORT=$PORT "$@" >/dev/null 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
sleep 0.5
out=$(mktemp)
for _ in $(seq "$ROUNDS"); do
  wrk -t1 -c50 -d3s "http://127.0.0.1:$PORT/" >"$out" &
  load=$!
  sleep 1.5
  split=$(ss -tnpH state established "( sport = :$PORT )" | grep -oE 'pid=[0-9]+' | sort | uniq -c |
    awk '{print $1}' | sort -n | paste -sd/)
  wait $load
  printf '%s req/s (%s)\n' "$(awk '/Requests\/sec/ {printf "%d", $2}' "$out")" "$split"
done
rm -f "$out"
