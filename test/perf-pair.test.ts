/**
 * scripts/bench/perf-pair.ts's reading of `perf script` output: samples split by process, each
 * classified by its leaf, and the per-request table. (The tool itself needs perf and root.)
 */
import { describe, expect, test } from "bun:test";
import { compare, kindOf, parsePerfScript } from "../scripts/bench/perf-pair.ts";

const SCRIPT = [
  "101 ",
  "\t    7f13d3051bad JS:*send file:///work/main/dist/cli-bundle.mjs:9572:18 (/tmp/perf-101.map)",
  "\t         15c0df1 Builtins_PromiseFulfillReactionJob (/usr/bin/node)",
  "",
  "101 ",
  "\t         14cd58f Builtins_GetProperty (/usr/bin/node)",
  "\t    7f13d302b259 JS:*processTicksAndRejections node:internal/process/task_queues:67:35 (/tmp/perf-101.map)",
  "",
  "  202 ",
  "\tffffffff81a0c2d5 tcp_sendmsg_locked ([kernel.kallsyms])",
  "\tffffffff81a0c9e1 tcp_sendmsg ([kernel.kallsyms])",
  "\t          108cae __GI___writev (/usr/lib/x86_64-linux-gnu/libc.so.6)",
  "",
  "202 ",
  "\t          b51112 v8::internal::ScavengerCollector::CollectGarbage (/usr/bin/node)",
  "\t          b518b3 v8::internal::Heap::Scavenge (/usr/bin/node)",
  "",
  "202 ",
  "\t          c4993d v8::internal::JsonParser<unsigned char>::ScanJsonString (/usr/bin/node)",
  "\t          c4a574 v8::internal::JsonParser<unsigned char>::ParseJson (/usr/bin/node)",
  "",
].join("\n");

describe("perf-pair", () => {
  test("parses samples by process, leaf first, with each frame's object", () => {
    const samples = parsePerfScript(SCRIPT);
    expect(samples.map((s) => s.pid)).toEqual([101, 101, 202, 202, 202]);
    expect(samples[0]?.frames[0]).toEqual({
      symbol: "JS:*send file:///work/main/dist/cli-bundle.mjs:9572:18",
      dso: "/tmp/perf-101.map",
    });
    expect(samples[2]?.frames.map((f) => f.symbol)).toEqual([
      "tcp_sendmsg_locked",
      "tcp_sendmsg",
      "__GI___writev",
    ]);
  });

  test("classifies each sample by what its leaf was doing", () => {
    expect(parsePerfScript(SCRIPT).map(kindOf)).toEqual([
      "JavaScript (JIT code)",
      "V8 builtins: property access",
      "kernel",
      "garbage collection",
      "JSON parse/stringify",
    ]);
  });

  test("the table is in us per request (samples at 1999 Hz over the requests), largest difference first", () => {
    const a = new Map([
      ["kernel", 1999],
      ["gc", 0],
    ]);
    const b = new Map([
      ["kernel", 1999],
      ["gc", 3998],
    ]);
    // 1999 samples are one second of CPU: over 1000 requests, 1000 us each.
    const rows = compare(a, 1000, b, 2000, 10);
    expect(rows[0]).toContain("gc");
    expect(rows[0]).toMatch(/0\.00\s+1000\.00\s+\+\s*1000\.00/);
    expect(rows[1]).toMatch(/1000\.00\s+500\.00\s+-500\.00\s+kernel/);
  });
});
