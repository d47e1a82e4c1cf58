/**
 * Node built-in modules loaded synchronously on first use, for code that a plain single server
 * never runs: each static `import ... from "node:..."` is paid at start-up (Bun 1.4.5: ~2-10 ms per
 * module; Deno 2.9: the first node:fs alone ~17-20 ms).
 *
 * process.getBuiltinModule (Node 20.16+, Bun, Deno) is the synchronous loader, read only when a
 * module is needed: on Deno 2.9 the first touch of the global `process` starts Deno's Node
 * compatibility layer (~30 ms, see paths.ts), and reading getBuiltinModule runs a lazy getter
 * (~4.5 ms), so nothing here touches either before a module is asked for. Node 20.12-20.15 lack
 * it: there loadAdapter() calls prepareBuiltins() first, which makes a require with node:module.
 * (Not a top-level await: that would stop `require()` of the library bundle, which Node 20.19+
 * and 22.12+ allow for an ESM graph without one.)
 */

interface BuiltinLoader {
  getBuiltinModule(id: string): unknown;
}

const globalProcess = (): BuiltinLoader => (globalThis as unknown as { process: BuiltinLoader }).process;

let fallbackRequire: ((id: string) => unknown) | undefined;

/** Before any lazy built-in is used: gives Node 20.12-20.15 a require (a no-op elsewhere). */
export async function prepareBuiltins(): Promise<void> {
  // Deno has getBuiltinModule; asking would start its Node compatibility layer for nothing.
  if (fallbackRequire || "Deno" in globalThis || "getBuiltinModule" in globalProcess()) return;
  fallbackRequire = (await import("node:module")).createRequire(import.meta.url);
}

export function requireBuiltin<T>(id: string): T {
  return (fallbackRequire ? fallbackRequire(id) : globalProcess().getBuiltinModule(id)) as T;
}

/** A getter for one built-in module, loaded on its first call. */
export function lazyBuiltin<T>(id: string): () => T {
  let module: T | undefined;
  return () => {
    module ??= requireBuiltin<T>(id);
    return module;
  };
}

/**
 * node:process, for code that runs only on Node and Bun or only after start-up: on Deno its first
 * touch starts the Node compatibility layer (see above). One getter serves every module.
 */
export const nodeProcess = lazyBuiltin<typeof import("node:process")>("node:process");

/**
 * node:fs, the same way: Node and Bun load it anyway, while on Deno it costs ~17-20 ms of start-up,
 * so code that a single server on Deno runs uses the Deno namespace instead.
 */
export const nodeFs = lazyBuiltin<typeof import("node:fs")>("node:fs");

/**
 * Built-ins that more than one module loads on first use, one getter each: node:child_process
 * (workers, the fd-dup helper), node:crypto (a TLS key), node:https and node:tls (TLS servers and
 * --ssl-ciphers). A static import of any of them is paid by every start of the Node bundle
 * (node:crypto ~9 ms on Node 24).
 */
export const nodeChildProcess = lazyBuiltin<typeof import("node:child_process")>("node:child_process");
export const nodeCrypto = lazyBuiltin<typeof import("node:crypto")>("node:crypto");
export const nodeHttps = lazyBuiltin<typeof import("node:https")>("node:https");
export const nodeTls = lazyBuiltin<typeof import("node:tls")>("node:tls");

/**
 * node:http, for the modules that serve with it. On Node 24 an ESM import of node:http loads undici
 * and node:http2 as well (its ESM facade reads the lazy `http.WebSocket`, nodejs/node#59686): about
 * 13 MiB of RSS (57.7 vs 44.5 MiB for a script that imports it or gets it this way), which a server
 * pays anyway for its Response, but a supervisor parent, which serves nothing, should not.
 */
export const nodeHttp = lazyBuiltin<typeof import("node:http")>("node:http");
