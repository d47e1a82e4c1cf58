/**
 * tsuv's TypeScript loader (src/runtime/node-ts-hooks.ts) when esbuild's service process dies under
 * it: a signal to the whole process group kills it with the rest (Ctrl+C in a terminal, systemd's
 * default KillMode=control-group), and so does a crash. A worker that was compiling the app then
 * logged "Error loading app ... The service was stopped", and every compile after it failed
 * until the loader's idle stop. Now the module is compiled again on a fresh service.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { esbuildServiceGone, load, loadSync } from "../src/runtime/node-ts-hooks.ts";
import { childrenOf } from "./helpers/spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "tsuv-esbuild-service-"));

afterAll(async () => {
  await esbuild.stop();
  rmSync(dir, { recursive: true, force: true });
});

let modules = 0;
/** A TypeScript module no cache has seen (the loader keeps esbuild's output on disk). */
function freshModule(): { url: string; value: string } {
  const value = `${++modules}-${process.pid}-${Date.now()}-${Math.random()}`;
  const file = join(dir, `module${modules}.ts`);
  writeFileSync(file, `export const value: string = ${JSON.stringify(value)};\n`);
  return { url: pathToFileURL(file).href, value };
}

const noNextLoad = () => {
  throw new Error("a TypeScript module must not reach the next loader");
};

/** Kills this process's esbuild service processes (esbuild's children), as a signal to the group would. */
function killEsbuildServices(): void {
  const pids = childrenOf(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "esbuild";
    } catch {
      return false; // gone already
    }
  });
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) process.kill(pid, "SIGKILL");
}

/**
 * Starts esbuild's services (the async one and transformSync's worker thread) directly, so the
 * loader's idle stop (300 ms after its last compile) cannot stop them before the kill.
 */
async function startServices(): Promise<void> {
  await Bun.sleep(400); // any idle stop of an earlier compile has run
  await esbuild.transform("let warm: number = 1", { loader: "ts" });
  esbuild.transformSync("let warm: number = 1", { loader: "ts" });
}

test("the service's death is recognised by what esbuild says", async () => {
  await startServices();
  killEsbuildServices();
  const error = await esbuild.transform("let a: number = 1", { loader: "ts" }).then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(esbuildServiceGone(error)).toBe(true);
  expect(
    esbuildServiceGone(new Error('Transform failed with 1 error:\n<stdin>:1:4: ERROR: Expected ";"')),
  ).toBe(false);
  await esbuild.stop();
});

test("load() compiles on a fresh service when the one it had has died", async () => {
  await startServices();
  killEsbuildServices();
  const { url, value } = freshModule();
  const result = await load(url, {}, noNextLoad);
  expect(result.format).toBe("module");
  expect(String(result.source)).toContain(value);
  // And the next module too, on the same new service.
  const next = freshModule();
  expect(String((await load(next.url, {}, noNextLoad)).source)).toContain(next.value);
});

test("loadSync() (module.registerHooks) does the same", async () => {
  await startServices();
  killEsbuildServices();
  const { url, value } = freshModule();
  const result = loadSync(url, {}, noNextLoad);
  expect(result.format).toBe("module");
  expect(String(result.source)).toContain(value);
});
