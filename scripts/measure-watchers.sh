#!/usr/bin/env bash
# Measures the file-watcher candidates for --reload (docs/reload.md has the results):
#   bash scripts/measure-watchers.sh [WORKDIR]
# For each runtime (Node 20, Node 24, Bun, Deno) and candidate (the runtime's recursive fs.watch,
# Deno.watchFs, chokidar 4/5, @parcel/watcher), on a 10,000-file tree and on the same tree plus a
# 50,000-file node_modules: time to ready, idle CPU over 10 s (utime+stime from /proc/PID/stat, in
# 10 ms ticks), RSS, inotify watches (from /proc/PID/fdinfo), and whether one edit is reported.
# Then the correctness scenarios (edit, `mkdir -p` + file, atomic save, directory moved in, delete).
# Linux only. The candidates are installed into WORKDIR (default /tmp/tsuv-watch-bench) with npm,
# never into the project.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/tsuv-watch-bench}
BIN=$ROOT/node_modules/.bin
NODE24=$ROOT/.tools/node24/node_modules/node/bin/node
mkdir -p "$W/c4" "$W/c5" "$W/parcel"
cd "$W"
[ -d c4/node_modules/chokidar ] || (cd c4 && npm init -y >/dev/null && npm i --no-audit --no-fund chokidar@4.0.3 >/dev/null)
[ -d c5/node_modules/chokidar ] || (cd c5 && npm init -y >/dev/null && npm i --no-audit --no-fund chokidar@5.0.0 >/dev/null)
[ -d parcel/node_modules/@parcel/watcher ] ||
  (cd parcel && npm init -y >/dev/null && npm i --no-audit --no-fund @parcel/watcher@2.6.0 >/dev/null)

# 10 x 10 x 5 directories of 20 .ts files; tree2 adds node_modules: 500 x 10 directories of 10 files.
if [ ! -d tree ]; then
  for a in $(seq 0 9); do for b in $(seq 0 9); do for c in $(seq 0 4); do
    d=tree/src/m$a/s$b/c$c; mkdir -p $d
    for i in $(seq 0 19); do echo "export const x$i = $i;" > $d/f$i.ts; done
  done; done; done
fi
if [ ! -d tree2 ]; then
  cp -al tree tree2
  for p in $(seq 0 499); do for s in $(seq 0 9); do
    d=tree2/node_modules/pkg$p/lib$s; mkdir -p $d
    for i in $(seq 0 9); do echo "module.exports=1" > $d/m$i.js; done
  done; done
fi

cat > bench.mjs <<'EOF'
// <runtime> bench.mjs <candidate> <dir>: watch, print READY, print EVENT for each event.
const [candidate, dir] = globalThis.Deno ? Deno.args : process.argv.slice(2);
const W = new URL(".", import.meta.url).pathname;
const t0 = performance.now();
const onEvent = (what) => console.log(`EVENT ${what}`);
const skip = /(^|\/)(node_modules|\.git|dist)(\/|$)/;
if (candidate === "fswatch") {
  const { watch } = await import("node:fs");
  watch(dir, { recursive: true }, (ev, file) => onEvent(`${ev} ${file}`));
} else if (candidate === "denowatchfs") {
  (async () => { for await (const e of Deno.watchFs(dir, { recursive: true })) onEvent(`${e.kind} ${e.paths[0]}`); })();
} else if (candidate === "chokidar4" || candidate === "chokidar5") {
  // chokidar 4 through require() (Node's resolution: Deno resolves its `readdirp` import only
  // that way from a bare folder); chokidar 5 is ESM only.
  const { createRequire } = await import("node:module");
  const mod = candidate === "chokidar4"
    ? createRequire(import.meta.url)(`${W}c4/node_modules/chokidar/index.js`)
    : await import(`${W}c5/node_modules/chokidar/index.js`);
  const w = mod.watch(dir, { ignoreInitial: true, ignored: (p) => skip.test(p) });
  w.on("all", (ev, p) => onEvent(`${ev} ${p}`));
  await new Promise((r) => w.on("ready", r));
} else if (candidate === "parcel") {
  const { createRequire } = await import("node:module");
  const w = createRequire(import.meta.url)(`${W}parcel/node_modules/@parcel/watcher/index.js`);
  await w.subscribe(dir, (err, events) => {
    for (const e of events) onEvent(`${e.type} ${e.path}`);
  }, { ignore: ["node_modules", ".git", "dist"] });
}
console.log(`READY ${(performance.now() - t0).toFixed(0)}ms`);
setInterval(() => {}, 1 << 30);
EOF

inotify_watches() { # PID -> number of inotify watches it holds
  local n=0
  for f in /proc/$1/fd/*; do
    if [ "$(readlink "$f")" = "anon_inode:inotify" ]; then n=$((n + $(grep -c '^inotify' /proc/$1/fdinfo/${f##*/} || true))); fi
  done
  echo $n
}

measure() { # TREE LABEL CMD...
  local tree=$1 label=$2; shift 2
  local log; log=$(mktemp)
  "$@" >>"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do grep -q READY "$log" && break; sleep 0.1; done
  local ready; ready=$(grep READY "$log" | awk '{print $2}' || true)
  [ -n "$ready" ] || { echo "| $label | did not start: $(head -c 200 "$log" | tr '\n' ' ') |"; kill $pid 2>/dev/null || true; rm -f "$log"; return; }
  sleep 2
  local s1 s2; s1=$(awk '{print $14+$15}' /proc/$pid/stat || echo 0); sleep 10
  s2=$(awk '{print $14+$15}' /proc/$pid/stat || echo 0)
  local rss; rss=$(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status || echo ?)
  local watches; watches=$(inotify_watches $pid)
  echo "// changed" >> "$tree/src/m3/s4/c2/f7.ts"
  sleep 1.5
  local events; events=$(grep -c EVENT "$log" || true)
  kill $pid; wait $pid 2>/dev/null || true
  printf "| %-26s | %8s | %3s ticks (%4.1f%%) | %4s MB | %6s | %s |\n" "$label" "$ready" $((s2 - s1)) \
    "$(echo "($s2-$s1)/10" | bc -l)" "$rss" "$watches" "$events"
  rm -f "$log"
}

scenarios() { # LABEL CMD...: the correctness scenarios, events per step
  local label=$1; shift
  local D=$W/ctree; rm -rf "$D"; mkdir -p "$D/src/a"; echo 1 > "$D/src/a/one.ts"
  local log; log=$(mktemp)
  "$@" >>"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do grep -q READY "$log" && break; sleep 0.1; done
  step() { echo "STEP $1" >> "$log"; eval "$2"; sleep 0.6; }
  step edit 'echo 2 >> $D/src/a/one.ts'
  step mkdir-p-then-file 'mkdir -p $D/src/b/c && sleep 0.1 && echo x > $D/src/b/c/new.ts'
  step edit-in-new-dir 'echo y >> $D/src/b/c/new.ts'
  step atomic-save 'echo z > $D/src/a/.one.ts.tmp && mv $D/src/a/.one.ts.tmp $D/src/a/one.ts'
  step dir-moved-in 'rm -rf $W/outside && mkdir -p $W/outside/d && echo q > $W/outside/d/moved.ts && mv $W/outside/d $D/src/moved'
  step delete 'rm $D/src/a/one.ts'
  kill $pid; wait $pid 2>/dev/null || true
  echo "$label:"
  awk -v D="$D/" '/^STEP/{if(s)print "  "s":"c; s=$2; c=""} /^EVENT/{sub(/^EVENT /,""); gsub(D,""); c=c" ["$0"]"} END{print "  "s":"c}' "$log"
  rm -f "$log"
}

runs() { # TREE
  local T=$1
  measure "$T" node20-fs.watch-recursive node bench.mjs fswatch "$T"
  measure "$T" node24-fs.watch-recursive "$NODE24" bench.mjs fswatch "$T"
  measure "$T" node20-chokidar4 node bench.mjs chokidar4 "$T"
  measure "$T" node20-chokidar5 node bench.mjs chokidar5 "$T"
  measure "$T" node20-parcel node bench.mjs parcel "$T"
  measure "$T" bun-fs.watch-recursive "$BIN/bun" bench.mjs fswatch "$T"
  measure "$T" bun-chokidar4 "$BIN/bun" bench.mjs chokidar4 "$T"
  measure "$T" bun-parcel "$BIN/bun" bench.mjs parcel "$T"
  measure "$T" deno-fs.watch-recursive "$BIN/deno" run -A bench.mjs fswatch "$T"
  measure "$T" deno-Deno.watchFs "$BIN/deno" run -A bench.mjs denowatchfs "$T"
  measure "$T" deno-chokidar4 "$BIN/deno" run -A bench.mjs chokidar4 "$T"
  measure "$T" deno-parcel "$BIN/deno" run -A bench.mjs parcel "$T"
}

header="| candidate | ready | idle CPU over 10 s | RSS | inotify watches | events for 1 edit |
|---|---|---|---|---|---|"
echo "### 10,000 files in 612 directories"; echo "$header"; runs "$W/tree"
echo; echo "### the same plus node_modules: 60,000 files in 6,113 directories"; echo "$header"; runs "$W/tree2"
echo; echo "### scenarios"
scenarios node20-fs.watch-recursive node bench.mjs fswatch "$W/ctree"
scenarios node20-chokidar4 node bench.mjs chokidar4 "$W/ctree"
scenarios node20-parcel node bench.mjs parcel "$W/ctree"
scenarios bun-fs.watch-recursive "$BIN/bun" bench.mjs fswatch "$W/ctree"
scenarios deno-fs.watch-recursive "$BIN/deno" run -A bench.mjs fswatch "$W/ctree"
