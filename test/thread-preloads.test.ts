/**
 * A runtime's preloads (an instrumentation file: `bun --preload ./instrument.ts`, `node --import`,
 * `deno run --preload`) run in every worker, as in the main thread. Node runs them in worker threads
 * itself; Bun and Deno did not (src/runtime/thread-preloads.ts), and their thread workers served
 * without them. And every worker sees the command's process.argv, threads included (WorkerBoot).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bunfigFile,
  bunfigPreloads,
  bunThreadPreloads,
  denoThreadPreloads,
  preloadFlags,
} from "../src/runtime/thread-preloads.ts";
import { killAll, ROOT, type RuntimeKey, startTsuv, waitIdentities } from "./helpers/tsuv.ts";

const PRELOAD = join(ROOT, "test", "fixtures", "preload", "count.mjs");
const REQUIRE = join(ROOT, "test", "fixtures", "preload", "count.cjs");
const APP = join(ROOT, "test", "fixtures", "apps", "preloaded.ts");

describe("the preload flags", () => {
  test("Bun: --preload, -r, --require and --import, with the value after or after '='", () => {
    const args = ["--smol", "--preload", "./a.ts", "-r=b", "--require", "c", "--import=./d.mjs", "--hot"];
    expect(preloadFlags("bun", args)).toEqual([
      { specifier: "./a.ts" },
      { specifier: "b" },
      { specifier: "c" },
      { specifier: "./d.mjs" },
    ]);
  });

  test("Deno: --preload imports, --require requires; its -r is --reload, not a preload", () => {
    const args = ["-A", "-r", "--preload=./a.ts", "--require", "./b.cjs", "--preload", "npm:c"];
    expect(preloadFlags("deno", args)).toEqual([
      { specifier: "./a.ts" },
      { specifier: "./b.cjs", commonJs: true },
      { specifier: "npm:c" },
    ]);
  });

  test("a flag with no value adds nothing", () => {
    expect(preloadFlags("bun", ["--preload"])).toEqual([]);
    expect(preloadFlags("deno", ["--preload="])).toEqual([]);
  });

  test("Deno's paths resolve against the start directory: a URL to import, a path to require", () => {
    const args = ["--preload", "./in/a.ts", "--require", "../b.cjs", "--preload", "jsr:@std/dotenv/load"];
    expect(denoThreadPreloads(args, "/srv/app")).toEqual([
      { specifier: "file:///srv/app/in/a.ts" },
      { specifier: "/srv/b.cjs", commonJs: true },
      { specifier: "jsr:@std/dotenv/load" },
    ]);
    // Flags Deno does not show tsuv (no -A): nothing to pass on.
    expect(denoThreadPreloads(undefined, "/srv/app")).toEqual([]);
  });
});

describe("bunfig.toml", () => {
  test("--config=FILE names it (Bun takes no other spelling), else the working directory's", () => {
    expect(bunfigFile(["--smol"])).toBe("bunfig.toml");
    expect(bunfigFile(["--config=conf/bun.toml"])).toBe("conf/bun.toml");
  });

  test("its preload is a string or a list", () => {
    expect(bunfigPreloads({ preload: "./a.ts" })).toEqual([{ specifier: "./a.ts" }]);
    expect(bunfigPreloads({ preload: ["./a.ts", "b"] })).toEqual([
      { specifier: "./a.ts" },
      { specifier: "b" },
    ]);
    expect(bunfigPreloads({ run: { preload: "./a.ts" } })).toEqual([]);
    expect(bunfigPreloads(null)).toEqual([]);
  });

  const dir = mkdtempSync(join(tmpdir(), "tsuv-preloads-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("Bun's list: the bunfig's first, then the flags', resolved from the start directory", () => {
    writeFileSync(join(dir, "bunfig.toml"), `preload = ["./first.mjs"]\n`);
    writeFileSync(join(dir, "first.mjs"), "");
    writeFileSync(join(dir, "second.mjs"), "");
    expect(bunThreadPreloads(["--preload", "./second.mjs"], dir, false)).toEqual([
      { specifier: join(dir, "first.mjs") },
      { specifier: join(dir, "second.mjs") },
    ]);
    // A compiled binary reads no bunfig.toml; one that does not resolve is passed on as given.
    expect(bunThreadPreloads(["--preload", "./missing.mjs"], dir, true)).toEqual([
      { specifier: "./missing.mjs" },
    ]);
  });
});

describe("every worker runs the preloads and sees the command's process.argv", () => {
  afterEach(killAll);

  const dir = mkdtempSync(join(tmpdir(), "tsuv-preloads-run-"));
  // A preload named relative to the working directory: resolved as the runtime resolved it.
  writeFileSync(join(dir, "count.mjs"), `import ${JSON.stringify(PRELOAD)};\n`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface Case {
    name: string;
    runtime: RuntimeKey;
    workerClass: "thread" | "process";
    runtimeFlags?: string[];
    env?: Record<string, string>;
    bunfig?: string;
    required?: number;
  }
  const cases: Case[] = [
    {
      name: "node --import",
      runtime: "node20",
      workerClass: "thread",
      runtimeFlags: [`--import=${PRELOAD}`],
    },
    {
      name: "node --import",
      runtime: "node24",
      workerClass: "thread",
      runtimeFlags: [`--import=${PRELOAD}`],
    },
    { name: "bun --preload", runtime: "bun", workerClass: "thread", runtimeFlags: ["--preload", PRELOAD] },
    { name: "bun --preload", runtime: "bun", workerClass: "process", runtimeFlags: ["--preload", PRELOAD] },
    {
      name: "BUN_OPTIONS=--preload",
      runtime: "bun",
      workerClass: "thread",
      env: { BUN_OPTIONS: "--preload ./count.mjs" },
    },
    {
      name: "bunfig.toml's preload",
      runtime: "bun",
      workerClass: "thread",
      bunfig: `preload = "./count.mjs"\n`,
    },
    {
      name: "deno --preload",
      runtime: "deno",
      workerClass: "thread",
      runtimeFlags: ["-A", "--preload", "./count.mjs"],
    },
    {
      name: "deno --preload",
      runtime: "deno",
      workerClass: "process",
      runtimeFlags: ["-A", "--preload", PRELOAD],
    },
    {
      name: "deno --preload and --require",
      runtime: "deno",
      workerClass: "thread",
      runtimeFlags: ["-A", "--preload", PRELOAD, "--require", REQUIRE],
      required: 1,
    },
  ];

  for (const c of cases) {
    test(`${c.runtime}, ${c.name}: two ${c.workerClass} workers`, async () => {
      if (c.bunfig) writeFileSync(join(dir, "bunfig.toml"), c.bunfig);
      try {
        const args = [
          APP,
          "--port",
          "0",
          "--no-access-log",
          "--workers",
          "2",
          "--worker-class",
          c.workerClass,
        ];
        const t = await startTsuv(c.runtime, args, { cwd: dir, runtimeFlags: c.runtimeFlags, env: c.env });
        const answers = await waitIdentities(t.url, 2);
        for (const answer of answers) {
          const [, preloads, argv] = answer.match(/^\S+ (preloads=\d+ required=\d+) (.*)$/) ?? [];
          expect(preloads).toBe(`preloads=1 required=${c.required ?? 0}`);
          // The command's arguments, as the supervisor has them, in a thread too.
          const [script, ...rest] = JSON.parse(argv ?? "[]") as string[];
          expect(script).toMatch(/[/\\]cli\.(?:mjs|ts)$/);
          expect(rest).toEqual(args);
        }
      } finally {
        rmSync(join(dir, "bunfig.toml"), { force: true });
      }
    }, 30_000);
  }
});
