/**
 * nodeWriter (src/runtime/node-output.ts): tsuv's log lines on a Node.js stream whose reader may
 * stall. The stream holds at most `limit` unwritten bytes; lines past that are dropped, counted (an
 * access-log record holds the lines of a turn joined by newlines), and reported once it drains.
 */
import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { nodeWriter, type OutputStream } from "../src/runtime/node-output.ts";

/** A stream whose reader takes nothing until `drain()`: what was written stays unwritten. */
class StalledStream extends EventEmitter implements OutputStream {
  written: string[] = [];
  writableLength = 0;
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return false;
  }
  /** The reader caught up. */
  drain(): void {
    this.writableLength = 0;
    this.emit("drain");
  }
}

function setUp(limit: number) {
  const stream = new StalledStream();
  const reports: [number, number][] = [];
  const write = nodeWriter(stream, (count, limitBytes) => reports.push([count, limitBytes]), limit);
  return { stream, reports, write };
}

describe("nodeWriter", () => {
  test("writes each record with its newline while the stream holds less than the limit", () => {
    const { stream, reports, write } = setUp(100);
    write("one");
    write("two\nthree");
    expect(stream.written).toEqual(["one\n", "two\nthree\n"]);
    expect(reports).toEqual([]);
  });

  test("drops what comes past the limit, counts its lines, and reports them once drained", () => {
    const { stream, reports, write } = setUp(10);
    write("0123456789"); // 11 bytes unwritten: at the limit
    write("a");
    write("b\nc\nd");
    expect(stream.written).toEqual(["0123456789\n"]);
    expect(reports).toEqual([]);
    stream.drain();
    expect(reports).toEqual([[4, 10]]);
    write("after");
    expect(stream.written.at(-1)).toBe("after\n");
  });

  test("reports each stall once, with its own count", () => {
    const { stream, reports, write } = setUp(5);
    write("123456");
    write("x");
    stream.drain();
    stream.drain();
    write("123456");
    write("y\nz");
    stream.drain();
    expect(reports).toEqual([
      [1, 5],
      [2, 5],
    ]);
    expect(stream.listenerCount("drain")).toBe(0);
  });

  test("a stream that failed (EPIPE) is written to no more", () => {
    const { stream, write } = setUp(100);
    stream.emit("error", new Error("write EPIPE"));
    write("lost");
    expect(stream.written).toEqual([]);
  });
});
