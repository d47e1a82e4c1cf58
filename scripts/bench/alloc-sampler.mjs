// Preloaded into a Node.js server by scripts/bench/alloc.ts (NODE_OPTIONS=--import=this file):
// V8's sampling heap profiler, keeping the samples of objects already collected (a request's
// objects die young, and the default drops them), between two SIGUSR2. The profile goes to
// $TSUV_ALLOC_OUT when the second SIGUSR2 comes. Plain JavaScript: it runs before any loader.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { isMainThread } from "node:worker_threads";

const out = process.env.TSUV_ALLOC_OUT;
if (out && isMainThread) {
  const session = new Session();
  session.connect();
  const interval = Number(process.env.TSUV_ALLOC_INTERVAL) || 512;
  let sampling = false;
  process.on("SIGUSR2", () => {
    if (!sampling) {
      sampling = true;
      session.post("HeapProfiler.startSampling", {
        samplingInterval: interval,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    sampling = false;
    session.post("HeapProfiler.stopSampling", (error, result) => {
      writeFileSync(out, error ? JSON.stringify({ error: error.message }) : JSON.stringify(result.profile));
    });
  });
}
