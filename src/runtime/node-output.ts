/**
 * tsuv's log lines on Node.js's process.stdout and process.stderr, which write to a pipe without
 * blocking (libuv): what the reader has not taken yet waits in the stream, in memory. A reader that
 * stalls (a log collector that hangs, `| less` left open) let that grow without end: RSS 66 MB to
 * 193 MB in 10 s of `wrk -t1 -c20` with stdout into `| sleep 30` (Node 20), on to an OOM kill.
 * Bun's and Deno's writers block instead (runtime/index.ts), as Python's logging does for uvicorn.
 * Here a stream holding MAX_UNWRITTEN bytes takes no more lines until it drains, and the lines it
 * dropped are counted and reported then, as Docker's non-blocking log mode and journald's rate
 * limit drop and count rather than hold a server's memory hostage. Output that is a regular file
 * is written to its fd instead (nodeFileWriter), so that a full disk drops lines, not the log.
 */

import { writeAll } from "./write-all.ts";

/** Bytes a stream may hold unwritten before lines are dropped: seconds of access log at full load. */
export const MAX_UNWRITTEN = 8 * 1024 * 1024;

/**
 * Told how many lines were dropped and why, once writing works again: `reason` ends the sentence
 * "Dropped N log line(s): stdout ..." (logging.ts).
 */
export type DroppedLines = (count: number, reason: string) => void;

/** The part of a Node.js writable stream used here. */
export interface OutputStream {
  readonly writableLength: number;
  write(chunk: string): boolean;
  on(event: "error", listener: () => void): unknown;
  once(event: "drain", listener: () => void): unknown;
}

/**
 * A writer of one record at a time (a line, or the access lines of one turn joined by newlines).
 * A write to a pipe whose reader has gone (EPIPE: `tsuv ... | head`, a log shipper that died)
 * emits 'error' on the stream, and nothing handled it: tsuv logged it as an uncaught exception with
 * its stack, once per access-log flush, and where stderr was the same dead pipe, the server spun at
 * 100% CPU, answered nothing and ignored SIGTERM (both streams into `head -c 1`, Node 20 and 24). A
 * stream that failed is written to no more, as Deno's writer and Bun's console drop such lines; the
 * listener also keeps an app's own console.log from failing the same way. `dropped` runs once the
 * stream has drained after dropping lines.
 */
export function nodeWriter(
  stream: OutputStream,
  dropped: DroppedLines,
  limit = MAX_UNWRITTEN,
): (line: string) => void {
  let failed = false;
  let droppedLines = 0;
  stream.on("error", () => {
    failed = true;
  });
  const drained = () => {
    const count = droppedLines;
    droppedLines = 0;
    dropped(count, `was not being read, and ${limit / 1048576} MiB waited to be written`);
  };
  return (line) => {
    if (failed) return;
    if (stream.writableLength >= limit) {
      if (droppedLines === 0) stream.once("drain", drained);
      droppedLines += lineCount(line);
      return;
    }
    stream.write(`${line}\n`);
  };
}

const encoder = new TextEncoder();
const NEWLINE = 10;

/** tsuv's log lines, and the app's own output, to one regular file (nodeFileWriter). */
export interface FileOutput {
  /** One record of tsuv's log (its lines joined by newlines), written with a newline after it. */
  line(text: string): void;
  /** What the app wrote to process.stdout or process.stderr (console.log), as it wrote it. */
  chunk(bytes: Uint8Array): void;
}

/**
 * A writer to a regular file (`tsuv ... > server.log`). Through Node's own stream, a full disk
 * (ENOSPC) is an 'error', at which nodeWriter (meant for a pipe whose reader left) stops for good:
 * tsuv's log stayed stopped once space was freed (Node 20 and 24; Bun and Deno wrote on, as
 * Python's logging does for uvicorn). Each record is written here with `write` (fs.writeSync
 * on the fd); one that fails is dropped and counted, and the count is reported, with the error,
 * after the next record that goes out; a record the disk cut short is ended there by a newline, so
 * the next one is not glued to it. Threads write to the fd themselves too. The app's console output
 * goes through `chunk` (runtime/index.ts), so it survives a full disk the same way.
 */
export function nodeFileWriter(write: (bytes: Uint8Array) => number, dropped: DroppedLines): FileOutput {
  let droppedLines = 0;
  let lastError = "";
  // The file ends inside a record that the disk cut short: the next one starts on a line of its own.
  let cut = false;
  const record = (bytes: Uint8Array, lines: () => number) => {
    let written = 0;
    try {
      writeAll(bytes, (chunk) => {
        const n = write(chunk);
        written += n;
        return n;
      });
      cut = false;
    } catch (error) {
      if (written > 0) cut = bytes[written - 1] !== NEWLINE;
      droppedLines += lines();
      lastError = error instanceof Error ? error.message : String(error);
      return;
    }
    if (droppedLines === 0) return;
    // Reset first: the report is a line written through a writer, possibly this one.
    const count = droppedLines;
    droppedLines = 0;
    dropped(count, `could not be written (${lastError})`);
  };
  return {
    line(text) {
      record(encoder.encode(cut ? `\n${text}\n` : `${text}\n`), () => lineCount(text));
    },
    chunk(bytes) {
      if (bytes.length === 0) return;
      // A chunk without a newline (a partial line) still counts as one line dropped.
      const lines = () => Math.max(1, newlines(bytes));
      if (!cut) return record(bytes, lines);
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = NEWLINE;
      joined.set(bytes, 1);
      record(joined, lines);
    },
  };
}

/** Newline bytes in `bytes`: the app's lines in a chunk it wrote. */
function newlines(bytes: Uint8Array): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/** Lines in `text`: the access log hands over the lines of a turn joined by newlines (line-batch.ts). */
function lineCount(text: string): number {
  let count = 1;
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
  return count;
}
