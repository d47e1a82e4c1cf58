/**
 * A short one-shot timer on Deno's web timers, for tsuv's own ticks on Deno.
 *
 * Why not setTimeout: since Deno 2.8 the global setTimeout/clearTimeout are node:timers'
 * (denoland/deno#33118), loaded on their first use (denoland/deno#35373), and that first call
 * loads Deno's Node foundation: 10-14 ms and ~3 MiB of RSS per isolate on Deno 2.9.6 (a fresh
 * `deno run` script timing its first setTimeout; RSS with and without one). Such a call before
 * the first response costs every single-server start-up that much. AbortSignal.timeout() runs on
 * the web timers Deno has loaded anyway: ~0.5 ms for the first.
 *
 * It cannot be cleared: cancelling only keeps the callback from running, and until its time comes
 * the timer holds the event loop open (Deno 2.9.6 refs it). So it serves short timers only: the
 * server's once-a-second tick in a thread worker and the access log's flush; never a long deadline.
 */
export function webTimerAfter(ms: number, callback: () => void): () => void {
  let live = true;
  AbortSignal.timeout(ms).addEventListener(
    "abort",
    () => {
      if (live) callback();
    },
    { once: true },
  );
  return () => {
    live = false;
  };
}
