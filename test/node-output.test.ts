/**
 * nodeWriter (src/runtime/node-output.ts): tsuv's log lines on a Node.js stream whose reader may
 * stall. The stream holds at most `limit` unwritten bytes; lines past that are dropped, counted (an
 * access-log record holds the lines of a turn joined by newlines), and reported once it drains.
 */
import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { nodeFileWriter, nodeWriter, type OutputStream } from "../src/runtime/node-output.ts";

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
  const reports: [number, string][] = [];
  const write = nodeWriter(stream, (count, reason) => reports.push([count, reason]), limit);
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
    expect(reports).toEqual([[4, `was not being read, and ${10 / 1048576} MiB waited to be written`]]);
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
    expect(reports.map(([count]) => count)).toEqual([1, 2]);
    expect(stream.listenerCount("drain")).toBe(0);
  });

  test("a stream that failed (EPIPE) is written to no more", () => {
    const { stream, write } = setUp(100);
    stream.emit("error", new Error("write EPIPE"));
    write("lost");
    expect(stream.written).toEqual([]);
  });
});

/**
 * A file whose disk fills up and is freed again: writes of `capacity` bytes at most, then ENOSPC
 * (after a partial write, as write(2) does at the boundary) until `free()`.
 */
class FillingFile {
  text = "";
  constructor(private capacity: number) {}
  write = (bytes: Uint8Array): number => {
    const room = this.capacity - this.text.length;
    if (room <= 0)
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const taken = bytes.subarray(0, room);
    this.text += new TextDecoder().decode(taken);
    return taken.length;
  };
  free(): void {
    this.capacity = Number.POSITIVE_INFINITY;
  }
}

describe("nodeFileWriter", () => {
  test("writes each record with its newline, nothing reported", () => {
    const file = new FillingFile(1000);
    const reports: [number, string][] = [];
    const write = nodeFileWriter(file.write, (count, reason) => reports.push([count, reason])).line;
    write("one");
    write("two\nthree");
    expect(file.text).toBe("one\ntwo\nthree\n");
    expect(reports).toEqual([]);
  });

  test("a full disk drops and counts records; once space is freed it writes again and reports them", () => {
    const file = new FillingFile(6);
    const reports: [number, string][] = [];
    const write = nodeFileWriter(file.write, (count, reason) => reports.push([count, reason])).line;
    write("first"); // 6 bytes: fills the file
    write("lost"); // ENOSPC
    write("a\nb"); // two lines, ENOSPC
    expect(reports).toEqual([]);
    file.free();
    write("back");
    expect(file.text).toBe("first\nback\n");
    expect(reports).toEqual([[3, "could not be written (ENOSPC: no space left on device, write)"]]);
    write("more");
    expect(reports.length).toBe(1);
  });

  test("a record the disk cut short is ended by a newline before the next one", () => {
    const file = new FillingFile(8);
    const reports: number[] = [];
    const write = nodeFileWriter(file.write, (count) => reports.push(count)).line;
    write("first"); // 6 bytes
    write("second"); // "se", then ENOSPC
    write("lost"); // nothing written: the file still ends inside "second"
    file.free();
    write("third");
    write("fourth");
    expect(file.text).toBe("first\nse\nthird\nfourth\n");
    expect(reports).toEqual([2]);
  });

  test("the report may be written through the same writer (stderr's own warning)", () => {
    const file = new FillingFile(0);
    const reports: number[] = [];
    const write: (line: string) => void = nodeFileWriter(file.write, (count) => {
      reports.push(count);
      write(`dropped ${count}`);
    }).line;
    write("lost");
    file.free();
    write("back");
    expect(file.text).toBe("back\ndropped 1\n");
    expect(reports).toEqual([1]);
  });

  test("the app's own output goes to the same file as it was written; a full disk drops and counts its lines", () => {
    const file = new FillingFile(12);
    const reports: number[] = [];
    const output = nodeFileWriter(file.write, (count) => {
      reports.push(count);
      output.line(`dropped ${count}`);
    });
    const bytes = (text: string) => new TextEncoder().encode(text);
    output.chunk(bytes("no newline "));
    output.chunk(bytes("cut\n")); // "c", then the disk is full: the file ends inside the app's line
    output.chunk(bytes("x\ny\nz\n")); // three lines lost
    output.chunk(bytes("partial")); // a chunk without a newline counts as a line
    expect(reports).toEqual([]);
    file.free();
    output.chunk(bytes("back\n"));
    expect(file.text).toBe("no newline c\nback\ndropped 5\n");
    expect(reports).toEqual([5]);
  });

  test("tsuv's lines and the app's share the state of the file: a cut one is ended whichever comes next", () => {
    const file = new FillingFile(3);
    const output = nodeFileWriter(file.write, () => {});
    output.line("tsuv line"); // "tsu", cut
    file.free();
    output.chunk(new TextEncoder().encode("app line\n"));
    output.line("next");
    expect(file.text).toBe("tsu\napp line\nnext\n");
  });
});
