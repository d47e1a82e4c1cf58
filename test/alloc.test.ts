/**
 * scripts/bench/alloc.ts: its reading of a V8 sampling heap profile, its table, and its sampler
 * (scripts/bench/alloc-sampler.mjs) preloaded into a real Node.js process that allocates a known
 * amount between the two signals. (The tool's wrk runs are not repeated here.)
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesByFunction, type HeapProfile, type HeapProfileNode, table } from "../scripts/bench/alloc.ts";
import { node20, ROOT } from "../scripts/tools.mjs";

function node(
  id: number,
  functionName: string,
  url: string,
  children: HeapProfileNode[] = [],
): HeapProfileNode {
  return { id, callFrame: { functionName, url, lineNumber: 0 }, children };
}

const PROFILE: HeapProfile = {
  head: node(1, "(root)", "", [
    node(2, "listener", "file:///work/main/dist/cli-bundle.mjs", [
      node(3, "_toNode", "file:///work/main/dist/cli-bundle.mjs"),
      node(4, "clearBuffer", "node:internal/streams/writable"),
    ]),
    // The same function in an A/B copy of the checkout, at another line.
    node(5, "_toNode", "file:///tmp/wtB/dist/cli-bundle.mjs"),
  ]),
  samples: [
    { nodeId: 3, size: 1000 },
    { nodeId: 3, size: 500 },
    { nodeId: 4, size: 800 },
    { nodeId: 5, size: 100 },
    { nodeId: 2, size: 64 },
  ],
};

describe("alloc", () => {
  test("sums the sampled bytes per allocating function, across lines and checkouts", () => {
    const bytes = bytesByFunction(PROFILE, "/work/main");
    expect(Object.fromEntries(bytes)).toEqual({
      "_toNode dist/cli-bundle.mjs": 1600,
      "clearBuffer node:internal/streams/writable": 800,
      "listener dist/cli-bundle.mjs": 64,
    });
  });

  test("tables bytes per request, the largest spread between servers first", () => {
    const a = {
      bytes: new Map([
        ["f", 2000],
        ["g", 1000],
      ]),
      requests: 10,
    };
    const b = {
      bytes: new Map([
        ["f", 2100],
        ["h", 3000],
      ]),
      requests: 10,
    };
    expect(table([a, b], 10)).toEqual([
      `${"0".padStart(8)}${"300".padStart(8)}  h`,
      `${"100".padStart(8)}${"0".padStart(8)}  g`,
      `${"200".padStart(8)}${"210".padStart(8)}  f`,
    ]);
    // One server alone: its largest first.
    expect(table([b], 1)).toEqual([`${"300".padStart(8)}  h`]);
  });

  test("the sampler counts what a real Node.js process allocates between the two signals", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-alloc-test-"));
    try {
      const out = join(dir, "profile.json");
      const script = join(dir, "allocate.mjs");
      // 2,000 arrays of 128 numbers (a 1,040-byte element store and a 32-byte array each, on 64-bit
      // V8 without pointer compression), all garbage at once: ~2.1 MB, sampled after the first
      // signal (the sampler's listener runs before this one), then the second signal stops it.
      writeFileSync(
        script,
        [
          "let signals = 0;",
          "function allocate() { let kept; for (let i = 0; i < 2000; i++) kept = new Array(128).fill(1); return kept; }",
          "process.on('SIGUSR2', () => { if (++signals === 1) { allocate(); process.kill(process.pid, 'SIGUSR2'); } });",
          "setInterval(() => {}, 1000);",
          "process.stdout.write('ready\\n');",
        ].join("\n"),
      );
      const child = Bun.spawn([node20(), script], {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_OPTIONS: `--import=${join(ROOT, "scripts", "bench", "alloc-sampler.mjs")}`,
          TSUV_ALLOC_OUT: out,
          TSUV_ALLOC_INTERVAL: "256",
        },
        stdout: "pipe",
      });
      try {
        const reader = child.stdout.getReader();
        await reader.read(); // "ready"
        child.kill("SIGUSR2");
        let profile: HeapProfile | undefined;
        for (let waited = 0; !profile && waited < 10_000; waited += 50) {
          await Bun.sleep(50);
          try {
            profile = JSON.parse(readFileSync(out, "utf8")) as HeapProfile;
          } catch {
            // not written (or not whole) yet
          }
        }
        expect(profile).toBeDefined();
        const bytes = bytesByFunction(profile as HeapProfile, dir);
        const allocated = [...bytes].filter(([name]) => name.startsWith("allocate ")).map(([, n]) => n);
        expect(allocated.length).toBe(1);
        // Sampling is statistical (one sample per ~256 bytes): well within a quarter of 2.14 MB.
        expect(allocated[0] as number).toBeGreaterThan(1.6e6);
        expect(allocated[0] as number).toBeLessThan(2.7e6);
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
