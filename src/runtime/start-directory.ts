/**
 * The directory tsuv was started in, as the user named it: `$PWD` when that is the working
 * directory by another name (a symlink), else the working directory. Deploys that swap a symlink
 * (`/srv/app/current -> releases/42`, Capistrano's layout, with `cd /srv/app/current` or systemd's
 * `Environment=PWD=/srv/app/current`) rely on it, as gunicorn does (benoitc/gunicorn#394): the
 * working directory itself is the release it resolved to at start, so a SIGHUP restart used to load
 * the old release again. The app's path is resolved against this one (runtime/index.ts), each
 * process worker starts in it, and a thread supervisor moves into it before it starts a thread, so
 * a worker started after the swap serves the release the symlink names now, relative paths
 * included (`serveStatic({ root: "./public" })`).
 *
 * Worked out once, at the first call (cli.ts makes it at start-up, before anything can change).
 */
import { nodeFs, nodeProcess } from "./builtin.ts";

interface DirectoryId {
  dev: number | null;
  ino: number | null;
}
declare const Deno:
  | {
      cwd(): string;
      chdir(path: string): void;
      statSync(path: string): DirectoryId;
      env: { get(key: string): string | undefined };
    }
  | undefined;

let start: string | undefined;

function workingDirectory(): string {
  return typeof Deno !== "undefined" ? Deno.cwd() : nodeProcess().cwd();
}

/** dev:ino of `path` (symlinks followed), or undefined where it cannot be told (Windows: no inode). */
function identity(path: string): string | undefined {
  try {
    const { dev, ino } = typeof Deno !== "undefined" ? Deno.statSync(path) : nodeFs().statSync(path);
    return ino ? `${dev}:${ino}` : undefined;
  } catch {
    return undefined;
  }
}

export function startDirectory(): string {
  if (start !== undefined) return start;
  const cwd = workingDirectory();
  start = cwd;
  try {
    const pwd = typeof Deno !== "undefined" ? Deno.env.get("PWD") : nodeProcess().env.PWD;
    const named = pwd?.startsWith("/") && pwd !== cwd ? identity(pwd) : undefined;
    if (pwd && named !== undefined && named === identity(cwd)) start = pwd;
  } catch {
    // Deno without --allow-env for PWD: the working directory, as before.
  }
  return start;
}

/**
 * Into the directory the start path names now, if that is not where the process is: before a thread
 * starts (threads share the process's working directory). A start path that no longer resolves
 * (its release deleted) leaves the process where it is.
 */
export function enterStartDirectory(): void {
  const path = startDirectory();
  const now = identity(path);
  if (now === undefined || now === identity(workingDirectory())) return;
  try {
    if (typeof Deno !== "undefined") Deno.chdir(path);
    else nodeProcess().chdir(path);
  } catch {
    // Left where it is, as before the swap.
  }
}
