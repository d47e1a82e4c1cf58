// `npm run test:faults`: the fault suite (test/faults/*.fault.ts), in two parts.
// 1. Two files at a time, all but those of part 2. The suite is mostly waiting (servers starting,
//    draining, timeouts running out): one file at a time, it kept 2 cores 82% busy (of 200%) for
//    345 s (2026-12-06, `/usr/bin/time -v`).
// 2. Then one at a time:
//    - the files that set net.ipv4.tcp_migrate_req (withMigrateReq in harness.ts). It is one
//      setting for the whole machine, and a Node 22+ tsuv with workers reads it at start (a reusePort
//      listener per worker at 1, one shared socket at 0): changed under a neighbouring file's server,
//      the neighbour's closing listener drops its queue at 0 where it started for 1 (all nine files
//      two at a time: 6 new connections lost in node-reuseport.fault.ts while restart.fault.ts had
//      set 0);
//    - the files whose comment says test:faults "runs this file alone": the soak, which loads both
//      cores flat out, and kill.fault.ts, whose recovery bounds are the tightest (their comments say
//      what a neighbour did to them).
// With arguments after `npm run test:faults --` (a -t filter, ...), one `bun test` run takes every
// file, one at a time: a filter that matches nothing in one part would fail that part.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runBun } from "./tools.mjs";

const DIR = "test/faults";
const files = readdirSync(join(ROOT, DIR))
  .filter((name) => name.endsWith(".fault.ts"))
  .sort()
  .map((name) => `./${DIR}/${name}`);
const runsAlone = (file) => {
  const text = readFileSync(join(ROOT, file), "utf8");
  return /\bwithMigrateReq\(/.test(text) || /runs this file alone/.test(text);
};

const extra = process.argv.slice(2);
const parts =
  extra.length > 0
    ? [{ files, parallel: 1 }]
    : [
        { files: files.filter((file) => !runsAlone(file)), parallel: 2 },
        { files: files.filter(runsAlone), parallel: 1 },
      ];

let failed = false;
for (const part of parts) {
  if (part.files.length === 0) continue;
  const args = ["test", "--timeout", "60000", ...part.files, ...extra];
  // Bun runs the slowest file first when told the durations (test/faults/timings.json).
  if (part.parallel > 1) args.push(`--parallel=${part.parallel}`, `--timings=${DIR}/timings.json`);
  console.log(`test:faults: bun ${args.join(" ")}`);
  if (runBun(args, "test:faults") !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
