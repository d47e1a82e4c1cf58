/**
 * Importing the app on Node.js: the TypeScript loader hooks (node-ts-hooks.ts, built as
 * dist/ts-hooks.mjs next to the bundle) are registered once per thread, then the app is imported.
 * Registered hooks are per thread on Node 20 (a worker thread does not inherit the main thread's),
 * so a thread worker's first importModule registers them again; ensureTsHooks() is exported for an
 * entry point that wants them earlier. A JavaScript app does without them (the hooks thread and
 * esbuild's service process cost start-up time), unless something registered them already.
 * Where Node has `module.registerHooks` (22.15+, 23.5+; Node 24 here) the synchronous versions of
 * the same hooks run in the importing thread instead: no hooks thread to wait for at start-up
 * (Node 24 exec to first 200: 374 -> 223 ms) and none kept per thread worker.
 */
import { existsSync } from "node:fs";
import * as nodeModule from "node:module";
import { pathToFileURL } from "node:url";
import { COMPILED_FILE, loadSync, resolveSync } from "./node-ts-hooks.ts";

/** `module.registerHooks` (Node 22.15+, 23.5+): synchronous hooks in this thread, no hooks thread. */
type RegisterHooks = (hooks: { resolve: typeof resolveSync; load: typeof loadSync }) => unknown;

let registered = false;

/** The hook module: dist/ts-hooks.mjs beside the bundle this code was bundled into. */
export function tsHooksUrl(): URL {
  return new URL("./ts-hooks.mjs", import.meta.url);
}

export function ensureTsHooks(): void {
  if (registered) return;
  const registerHooks = (nodeModule as { registerHooks?: RegisterHooks }).registerHooks;
  checkPermissions(registerHooks !== undefined);
  registered = true;
  if (registerHooks) {
    // In-thread hooks: start-up does not wait for a hooks thread to boot, and a thread worker does
    // not keep one (nor its own esbuild) for its whole life.
    registerHooks({ resolve: resolveSync, load: loadSync });
    process.setSourceMapsEnabled(true);
    return;
  }
  const url = tsHooksUrl();
  if (url.protocol === "file:" && !existsSync(url)) {
    throw new Error(`tsuv's TypeScript loader is missing: ${url.pathname} (run \`npm run build\`).`);
  }
  nodeModule.register(url.href, import.meta.url);
  // Stack traces of TypeScript apps point at their .ts lines (the hook emits inline source maps).
  process.setSourceMapsEnabled(true);
}

/** Node's permission model (process.permission), where it is on: `--permission` (Node 20: --experimental-permission). */
function nodePermission(): { has(scope: string, reference?: string): boolean } | undefined {
  return (process as { permission?: { has(scope: string, reference?: string): boolean } }).permission;
}

/**
 * Under Node's permission model (`--permission`; process.permission exists only then) say what a
 * TypeScript app needs instead of Node's "Access to this API has been restricted", which on Node 20
 * does not name the flag. esbuild compiles it: in a worker thread for the in-thread hooks, and as
 * a child process for the hooks thread of module.register (measured: Node 24.21 needs
 * --allow-worker, Node 20.20 both).
 */
function checkPermissions(inThreadHooks: boolean): void {
  const permission = nodePermission();
  if (!permission) return;
  const needed = inThreadHooks
    ? [["worker", "--allow-worker"]]
    : [
        ["worker", "--allow-worker"],
        ["child", "--allow-child-process"],
      ];
  const missing = needed.filter(([scope]) => !permission.has(scope as string)).map(([, flag]) => flag);
  if (missing.length === 0) return;
  throw new Error(
    `a TypeScript app needs ${missing.join(" and ")} under Node.js's permission model (--permission): tsuv compiles it with esbuild, which runs ${inThreadHooks ? "in a worker thread" : "in a worker thread and a child process"}. Add ${missing.length === 1 ? "it" : "them"}, or serve the app compiled to JavaScript.`,
  );
}

export async function importModule(absolutePath: string): Promise<Record<string, unknown>> {
  // Node's loader says "Cannot find module" of an app --permission keeps it from reading.
  if (nodePermission()?.has("fs.read", absolutePath) === false) {
    throw new Error(
      `Node.js's permission model (--permission) does not let it read ${absolutePath}: add it to --allow-fs-read.`,
    );
  }
  if (COMPILED_FILE.test(absolutePath)) ensureTsHooks();
  // Before the app runs: code that keeps a reference to Response/fetch keeps tsuv's (see node-globals.ts).
  // Imported here, not at the top: it loads undici, which a supervisor parent never needs (node.ts).
  (await import("./node-globals.ts")).installFastGlobals();
  return (await import(pathToFileURL(absolutePath).href)) as Record<string, unknown>;
}
