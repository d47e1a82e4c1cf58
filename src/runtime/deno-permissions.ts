/**
 * What Deno's permissions (--allow-*, --deny-*, -A) mean for tsuv's workers.
 *
 * - A process worker, or --reload's server, is a new `deno run`, and Deno gives it only the
 *   permissions on its own command line. tsuv must pass the parent's flags on: -A would hand an app
 *   run with narrow permissions all of them, and drop the parent's --deny-* flags. Deno does not
 *   expose its flags (process.execArgv is empty, and Deno.permissions.query() says "granted" for a
 *   kind that has --deny-* exceptions). /proc/self/cmdline holds them, but Deno lets a process read
 *   it only with every permission granted and none denied (measured, Deno 2.9.6: "Requires all
 *   access"). So under plain -A the flags are copied as typed (--v8-flags, --config, --location...
 *   with them), and under anything narrower tsuv refuses rather than give a child more, or less,
 *   than its parent has. Thread workers share the parent's permissions exactly.
 * - A thread worker loads tsuv's worker module, and Deno checks read access to a worker's modules
 *   (not to the main module's graph), so thread workers need read access to tsuv's source files.
 */
import type { Refusal } from "./support.ts";

/** How tsuv starts its runtime again (process workers, --reload): the runtime's own flags, or why it cannot. */
export type Respawn = { ok: true; runtimeArgs: readonly string[] } | Refusal;

/** The part of the Deno namespace used here (passed in, so tests can hand a fake). */
export interface DenoPermissionsApi {
  args: readonly string[];
  readTextFileSync(path: string): string;
  permissions: { querySync(descriptor: { name: string; path?: string }): { state: string } };
}

export const PROC_CMDLINE = "/proc/self/cmdline";

/** Every kind of Deno permission; all of them granted is what -A gives. */
const PERMISSION_KINDS = ["read", "write", "net", "env", "sys", "run", "ffi", "import"] as const;

/**
 * Flags a child must not repeat: Deno's own --watch would restart the child behind tsuv's back, and
 * Deno's --reload (-r: fetch remote modules again) was done by the parent, and would be done again
 * by every worker. All take their value after `=`, so each is one argument. (An --inspect flag is
 * kept, moved to a port of the child's own: inspector-port.ts.)
 */
const PARENT_ONLY_FLAG = /^(?:--(?:watch|watch-hmr|hmr|watch-exclude|reload)(?:=|$)|-r(?:=|$))/;

/**
 * The Deno flags to start a child with, from this process's command line (/proc/self/cmdline split
 * on NUL) and the number of arguments after the script (Deno.args): everything between the
 * executable and the script, less the subcommand (`run`, or none in `deno -A main.ts`) and the
 * parent-only flags. Null when the command line does not hold the script where it should.
 */
export function childDenoFlags(cmdline: readonly string[], scriptArgCount: number): string[] | null {
  const scriptIndex = cmdline.length - scriptArgCount - 1;
  if (scriptIndex < 1) return null;
  let flags = cmdline.slice(1, scriptIndex);
  if (flags[0] !== undefined && !flags[0].startsWith("-")) flags = flags.slice(1);
  return flags.filter((flag) => !PARENT_ONLY_FLAG.test(flag));
}

/** Split /proc/self/cmdline: NUL-terminated arguments, empty ones included. */
export function splitCmdline(text: string): string[] {
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

const RESPAWN_NEEDS_ALL =
  "starts Deno again with this process's permissions, which Deno shows tsuv (in /proc/self/cmdline) only under -A with no --deny-* flag: run with -A and no --deny-*";

/** Can a process worker get exactly this process's Deno flags? See the file comment. */
export function denoRespawn(deno: DenoPermissionsApi): Respawn {
  let cmdline: string;
  try {
    cmdline = deno.readTextFileSync(PROC_CMDLINE);
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name !== "NotCapable" && name !== "PermissionDenied") {
      // No /proc (macOS, Windows): with every kind granted, -A is right but for --deny-* flags,
      // which cannot be seen there (docs/deployment.md says so).
      const all = PERMISSION_KINDS.every(
        (kind) => deno.permissions.querySync({ name: kind }).state === "granted",
      );
      if (all) return { ok: true, runtimeArgs: ["-A"] };
    }
    return { ok: false, reason: RESPAWN_NEEDS_ALL };
  }
  const flags = childDenoFlags(splitCmdline(cmdline), deno.args.length);
  if (flags === null) {
    return {
      ok: false,
      reason: "starts Deno again with this process's flags, which its command line does not show",
    };
  }
  return { ok: true, runtimeArgs: flags };
}

/**
 * Why thread workers cannot start here (RuntimeCapabilities.threadsDenied): this process may not
 * read the directory of tsuv's modules (`sourceDir`), which each thread loads. Null when it may.
 * Remote modules (JSR, https) are not checked: Deno asks --allow-import for those, which allows JSR
 * by default.
 */
export function denoThreadsDenied(deno: DenoPermissionsApi, sourceDir: URL): string | null {
  if (sourceDir.protocol !== "file:") return null;
  const path = decodeURIComponent(sourceDir.pathname).replace(/\/$/, "");
  if (deno.permissions.querySync({ name: "read", path }).state === "granted") return null;
  return `loads tsuv's modules in each thread, and Deno lets a thread load only modules it may read: add --allow-read=${path}`;
}
