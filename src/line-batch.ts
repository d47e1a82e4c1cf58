/**
 * Access-log lines written in batches: the lines of one event-loop turn go out in one write.
 *
 * Why: the access log is on by default (as in uvicorn), and one write per request was the largest
 * per-request cost left in tsuv: on Bun 1.4.5 a request cost ~33 us of CPU with the access log and
 * ~13 us without it (`bun scripts/bench/ab.ts`, stdout on a pipe), nearly all of it the write
 * itself. A burst of keep-alive requests answered in one turn now costs one write.
 *
 * What it costs: a line waits at most until the next timer tick (a few ms under load) or until
 * 64 KiB are pending. The logger flushes the batch before every other log line, so an error line
 * never overtakes the access lines before it, and when the server stops (its shutdown lines
 * flush it too). Only a process killed outright (SIGKILL, a native crash) loses the lines of its
 * last turn.
 */

/** Bytes (UTF-16 units, close enough) pending before a write is forced. */
const MAX_PENDING = 64 * 1024;

export interface LineBatch {
  /** Queue one record (no trailing newline). */
  push(line: string): void;
  /** Write what is queued, now. */
  flush(): void;
}

/**
 * `write` receives the queued records joined by newlines, without the last newline: the same
 * contract as one record, so the writers that add "\n" per call need no change.
 */
export function lineBatch(
  write: (text: string) => void,
  schedule: (flush: () => void) => void = (flush) => {
    setTimeout(flush, 0);
  },
): LineBatch {
  // Kept as a list and joined once: a string grown line by line is a rope of every line, which a
  // writer that cannot write at once (Node's stdout under a stalled reader) holds as it is, at
  // several times the bytes it reports (runtime/node-output.ts).
  let pending: string[] = [];
  let pendingLength = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join("\n");
    pending = [];
    pendingLength = 0;
    try {
      write(text);
    } catch {
      // As Python's logging: a lost log line never breaks a request.
    }
  };
  return {
    push(line) {
      pending.push(line);
      pendingLength += line.length + 1;
      if (pendingLength >= MAX_PENDING) flush();
      else if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    flush,
  };
}
