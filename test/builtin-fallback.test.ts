/**
 * Node 20.12-20.15 have no process.getBuiltinModule, which src/runtime/builtin.ts uses to load
 * node:fs, node:child_process and node:worker_threads on first use. There prepareBuiltins() must
 * have set up node:module's require before anything lazy runs, in the CLI and in a thread worker's
 * entry alike (a thread that missed it died with "getBuiltinModule is not a function"). Node 20.20
 * plays the old version here with a preload that deletes the function.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { getBody, killAll, ROOT, startTsuv } from "./helpers/tsuv.ts";

const PRELOAD = join(ROOT, "test", "fixtures", "no-get-builtin-module.mjs");
const APP = join(ROOT, "test", "fixtures", "apps", "main.ts");

afterEach(killAll);

for (const [name, args] of [
  ["one server", []],
  ["two process workers", ["--workers", "2", "--worker-class", "process"]],
  ["two thread workers", ["--workers", "2", "--worker-class", "thread"]],
] as const) {
  test(`node20 without process.getBuiltinModule: ${name} serve`, async () => {
    const t = await startTsuv("node20", [`${APP}:app`, "--port", "0", "--no-access-log", ...args], {
      env: { NODE_OPTIONS: `--import=${PRELOAD}` },
    });
    expect(await getBody(t.url, "/")).not.toBeNull();
    // Workers that died at boot are replaced and logged; none may have.
    expect(t.stderr()).not.toContain("getBuiltinModule");
    expect(t.stdout()).not.toContain("getBuiltinModule");
  }, 30_000);
}
