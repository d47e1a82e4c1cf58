// An app whose directory and file names need escaping in a file URL (a space, `%`, `%20`, `#`, a
// non-ASCII letter) is served on every runtime, with a relative import of its own. A `?` works on
// Node.js and Deno; Bun 1.4.5 finds no module under such a path at all (`bun 'a?b/main.ts'` fails
// too), and tsuv says so instead of Bun's "Cannot find module" for a file that is there.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBody, killAll, ROOT, RUNTIMES, runTsuv, startTsuv } from "./helpers/tsuv.ts";

afterEach(killAll);

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "tsuv-app-paths-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fixture app (main.ts and its lib/) copied under `dir` as `file`. */
function placeApp(dir: string, file: string): string {
  const target = join(root, dir);
  mkdirSync(join(target, "lib"), { recursive: true });
  cpSync(join(ROOT, "test/fixtures/apps/main.ts"), join(target, file));
  cpSync(join(ROOT, "test/fixtures/apps/lib"), join(target, "lib"), { recursive: true });
  return target;
}

describe.each(RUNTIMES)("%s: app paths that a file URL must escape", (runtime) => {
  test("a space, %, %20, # and é in the directory and file names", async () => {
    const dir = placeApp(`${runtime} a b/100%/é#1`, "ma in%20#.ts");
    const server = await startTsuv(runtime, ["ma in%20#.ts:app", "--port", "0"], { cwd: dir });
    expect(await getBody(server.url, "/")).toContain("app");
  });

  test("a ? in the directory name", async () => {
    const dir = placeApp(`${runtime} q?x`, "main.ts");
    if (runtime !== "bun") {
      const server = await startTsuv(runtime, ["main.ts:app", "--port", "0"], { cwd: dir });
      expect(await getBody(server.url, "/")).toContain("app");
      return;
    }
    const result = await runTsuv(runtime, ["main.ts:app", "--port", "0"], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `Bun cannot import a module whose path has a '?' in it (${join(dir, "main.ts")});`,
    );
  });
});

describe.each(RUNTIMES)("%s: an app written for `bun app.ts`", (runtime) => {
  test("its export's port and hostname are said to be ignored, and tsuv listens where it is told", async () => {
    const dir = join(root, `${runtime} bun-style`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "app.ts"),
      'export default { port: 3000, hostname: "0.0.0.0", fetch: () => new Response("bun-style") };\n',
    );
    const server = await startTsuv(runtime, ["app.ts", "--port", "0"], { cwd: dir });
    expect(await getBody(server.url, "/")).toBe("bun-style");
    expect(server.stderr() + server.stdout()).toContain(
      "WARNING:  The app's export sets port and hostname (Bun.serve's options, which `bun app.ts` listens with): tsuv ignores them",
    );
  });
});
