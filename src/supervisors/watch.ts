/**
 * File watching for the reloader: one backend per runtime, and a debouncer that turns a burst of
 * saves into one reload.
 *
 * Which backend (measured on a 10,000-file tree, and on the same tree plus a 50,000-file
 * node_modules; docs in the reload note):
 * - Bun, Deno: the runtime's own `fs.watch(dir, { recursive: true })`. Both are native (inotify,
 *   one watch per directory), ready in tens of milliseconds, idle at ~0% CPU, and passed every
 *   scenario we tried (atomic saves, `mkdir -p` then a file inside, directories moved in, deletes).
 * - Node: chokidar. Node's recursive fs.watch on Linux is a JavaScript walker that puts an inotify
 *   watch on every file and directory, node_modules included (66,113 watches, 2.7 s of blocked event
 *   loop for the 60,000-file tree; users hit ENOSPC), and it missed a delete after an atomic save.
 *   chokidar prunes excluded directories before watching them. (@parcel/watcher was rejected: on
 *   Linux it misses files in directories created by `mkdir -p`, parcel-bundler/watcher#97, which we
 *   reproduced; it is also a native addon.)
 */
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { errorMessage } from "../errors.ts";
import type { RuntimeName } from "../runtime/detect.ts";
import type { ReloadFilter } from "./watch-filter.ts";

/** One watched tree. */
export interface Watching {
  /** Resolves once the initial scan is done (changes before that may be missed). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchBackend {
  /** Shown in `Started reloader process [PID] using <name>`. */
  readonly name: string;
  /**
   * Watch one directory tree; call `onChange` with the absolute path of every changed file the
   * filter accepts. Resolves as soon as watching has begun (not waiting for the initial scan, so the
   * server is not held back by a large tree).
   */
  watch(
    dir: string,
    filter: ReloadFilter,
    onChange: (path: string) => void,
    onError: (error: unknown) => void,
  ): Promise<Watching>;
}

/** Where `path` really is (symlinks resolved), or null when it cannot be read (gone, dangling). */
export function realPathOf(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function toRelative(dir: string, filename: string): string {
  const rel = isAbsolute(filename) ? relative(dir, filename) : filename;
  return sep === "/" ? rel : rel.split(sep).join("/");
}

/** The runtime's own recursive fs.watch (Bun, Deno; also Node on macOS/Windows, where it is native). */
export const fsWatchBackend: WatchBackend = {
  name: "fs.watch",
  async watch(dir, filter, onChange, onError) {
    const { watch, readdirSync } = await import("node:fs");
    // The directories in the tree (excluded ones left out). Deno reports `rm -rf dir` as the
    // directories only, not the files that were in them; a removed path that was one of these is a
    // change. Filled by a walk after start-up, off the server's start path.
    const dirs = new Set<string>();
    // A directory that appears (`mkdir -p a/b` then a file, `git checkout`, a directory moved in):
    // the watcher only watches it once it has seen it, and files written inside before that are not
    // reported (Deno: a directory moved in, always; `mkdir -p a/b && echo > a/b/x.ts`, 3 in 28). So
    // look inside it.
    const walk = (rel: string, depth: number, report: boolean): void => {
      if (depth > 64 || (rel && filter.skipDir(rel))) return;
      if (rel) dirs.add(rel);
      let entries: import("node:fs").Dirent[];
      try {
        entries = readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(child, depth + 1, report);
        else if (report && filter.file(child)) onChange(join(dir, child));
      }
    };
    const walkTimer = setTimeout(() => walk("", 0, false), 0);
    // Deno names a change in a watched directory that is a symlink relative to the directory it
    // links to (`--reload-dir linked`, linked -> /srv/shared: "../app/linked/x.ts"), so such a name
    // is read against that directory too.
    const realDir = realPathOf(dir) ?? dir;
    const relativeName = (name: string): string => {
      const rel = toRelative(dir, name);
      if (!rel.startsWith("..") || realDir === dir) return rel;
      const absolute = isAbsolute(name) ? name : resolve(realDir, name);
      for (const base of [dir, realDir]) {
        const candidate = toRelative(base, absolute);
        if (!candidate.startsWith("..")) return candidate;
      }
      return rel;
    };
    const watcher = watch(dir, { recursive: true, persistent: true }, (event, filename) => {
      if (filename === null || filename === undefined) return;
      const rel = relativeName(filename.toString());
      if (!rel || rel.startsWith("..")) return;
      if (filter.file(rel)) onChange(join(dir, rel));
      else if (event === "rename" && !filter.skipDir(rel)) {
        let isDir: boolean | undefined;
        try {
          isDir = statSync(join(dir, rel)).isDirectory();
        } catch {}
        if (isDir) walk(rel, 0, true);
        else if (isDir === undefined && dirs.has(rel)) {
          for (const known of dirs) if (known === rel || known.startsWith(`${rel}/`)) dirs.delete(known);
          onChange(join(dir, rel));
        }
      }
    });
    watcher.on("error", onError);
    // Bun and Deno walk the tree inside watch() itself.
    return {
      ready: Promise.resolve(),
      close: async () => {
        clearTimeout(walkTimer);
        watcher.close();
      },
    };
  },
};

/**
 * A directory reached again through a symlink (`ln -s . self`, `ln -s .. up`, two links to one
 * place) is watched once, under the first path it was found at. chokidar follows symlinks, so
 * changes in a linked directory outside the tree reload, but it has no loop check: a link to an
 * ancestor was walked again and again until the kernel's 40-link limit, and one save was reported
 * under hundreds of paths in a 100 KB log line (measured with one `self` and one `sub/up` link).
 */
function firstPathPerDirectory(root: string): (path: string) => boolean {
  const firstPath = new Map<string, string>();
  const rootReal = realPathOf(root);
  if (rootReal !== null) firstPath.set(rootReal, root);
  return (path) => {
    const target = realPathOf(path);
    if (target === null) return false; // Gone, or a dangling link: nothing to watch twice.
    const first = firstPath.get(target);
    if (first === undefined) firstPath.set(target, path);
    return first !== undefined && first !== path;
  };
}

/** chokidar (Node): prunes excluded directories, so node_modules costs nothing. */
export const chokidarBackend: WatchBackend = {
  name: "chokidar",
  async watch(dir, filter, onChange, onError) {
    const { watch } = await import("chokidar");
    const seenBefore = firstPathPerDirectory(dir);
    const ignored = (path: string, stats?: { isFile(): boolean; isDirectory(): boolean }) => {
      const rel = toRelative(dir, path);
      if (!rel || rel.startsWith("..")) return false;
      if (stats?.isFile()) return !filter.file(rel);
      if (stats?.isDirectory()) return filter.skipDir(rel) || seenBefore(path);
      // Not yet known whether file or directory: skip only what is excluded either way.
      return filter.skipDir(rel) && !filter.file(rel);
    };
    const watcher = watch(dir, { ignoreInitial: true, persistent: true, ignored });
    const report = (path: string) => {
      const rel = toRelative(dir, path);
      if (rel && filter.file(rel)) onChange(path);
    };
    watcher.on("add", report);
    watcher.on("change", report);
    watcher.on("unlink", report);
    watcher.on("error", onError);
    const ready = new Promise<void>((done) => watcher.once("ready", () => done()));
    return { ready, close: () => watcher.close() };
  },
};

export function defaultWatchBackend(runtime: { name: RuntimeName; os: string }): WatchBackend {
  // Node's recursive fs.watch is only native off Linux (FSEvents, ReadDirectoryChangesW).
  if (runtime.name === "node" && runtime.os !== "darwin" && runtime.os !== "win32") return chokidarBackend;
  return fsWatchBackend;
}

/** How often each watched directory is checked for having been removed or replaced. */
export const ROOT_CHECK_MS = 500;

/** The directory at `path` (device and inode), or null when there is none. */
function directoryId(path: string): string | null {
  try {
    const stat = statSync(path);
    return stat.isDirectory() ? `${stat.dev}:${stat.ino}` : null;
  } catch {
    return null;
  }
}

/**
 * One watched directory, watched again when it is removed and made anew (`rm -rf build && tsc`,
 * a branch switch, a tool that regenerates it): the new directory is another inode, and every
 * backend's watch died with the old one, so the reloader heard nothing more until restarted
 * (measured on Node, Bun and Deno: after `rm -rf src; mkdir src`, no edit in src reloaded). It is
 * checked every ROOT_CHECK_MS; once it is back it is watched again, and that counts as a change.
 */
async function watchRoot(
  backend: WatchBackend,
  dir: string,
  filter: ReloadFilter,
  onChange: (path: string) => void,
  onError: (error: unknown) => void,
): Promise<Watching> {
  let id = directoryId(dir);
  const first = await backend.watch(dir, filter, onChange, onError);
  let current: Watching | undefined = first;
  let checking = false;
  let closed = false;
  const check = async (): Promise<void> => {
    const now = directoryId(dir);
    if (now === id) return;
    id = now;
    const old = current;
    current = undefined;
    await old?.close().catch(() => {});
    if (now === null || closed) return; // Gone: watched again once it is back.
    const next = await backend.watch(dir, filter, onChange, onError);
    if (closed) {
      await next.close().catch(() => {});
      return;
    }
    current = next;
    onChange(dir);
  };
  const timer = setInterval(() => {
    if (checking || closed) return;
    checking = true;
    check()
      .catch(onError)
      .finally(() => {
        checking = false;
      });
  }, ROOT_CHECK_MS);
  return {
    ready: first.ready,
    close: async () => {
      closed = true;
      clearInterval(timer);
      await current?.close();
    },
  };
}

/** Watch every directory with one backend, as one Watching. */
export async function watchDirs(
  backend: WatchBackend,
  dirs: readonly string[],
  filter: ReloadFilter,
  onChange: (path: string) => void,
  onError: (error: unknown) => void,
): Promise<Watching> {
  const all = await Promise.all(dirs.map((dir) => watchRoot(backend, dir, filter, onChange, onError)));
  return {
    ready: Promise.all(all.map((one) => one.ready)).then(() => {}),
    close: async () => {
      await Promise.all(all.map((one) => one.close().catch(() => {})));
    },
  };
}

/** A watch limit: inotify watches (ENOSPC; Deno: "OS file watch limit reached") or instances (EMFILE). */
const WATCH_LIMIT = /ENOSPC|watch limit|EMFILE|too many open files/i;

/**
 * What to say about a watcher's errors. chokidar reports the system's watch limit once per path it
 * could not watch (242 ERROR lines for a tree of 150 directories under
 * fs.inotify.max_user_watches=60, Node 20); Deno's fs.watch reports it once and then nothing more,
 * changes included (Deno 2.9.6); Bun's goes on with what it did watch. So the limit is said once,
 * with what it means and how to fix it, and any other error once per message.
 */
export class WatchErrors {
  private readonly said = new Set<string>();

  /** The line to log for `error`, or undefined when it has been said already. */
  line(error: unknown): string | undefined {
    const message = errorMessage(error);
    const limit = WATCH_LIMIT.test(message);
    const key = limit ? "watch limit" : message;
    if (this.said.has(key)) return undefined;
    this.said.add(key);
    if (!limit) return `File watcher error: ${message}`;
    return `File watcher error: ${message}. The system's limit on file watches is reached: changes to what could not be watched go unnoticed (on Deno, every change from now on). Raise it (sysctl fs.inotify.max_user_watches, fs.inotify.max_user_instances) or watch less (--reload-dir, --reload-exclude), and restart.`;
  }
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Trailing debounce: paths pile up until `delayMs` pass without a new one, then `flush` gets them
 * all (each once, in the order first seen). A burst of saves is one reload.
 */
export class Debouncer {
  private readonly pending = new Set<string>();
  private timer: unknown;

  constructor(
    private readonly delayMs: number,
    private readonly flush: (paths: string[]) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  push(path: string): void {
    this.pending.add(path);
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.fire(), this.delayMs);
  }

  get waiting(): boolean {
    return this.pending.size > 0;
  }

  cancel(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private fire(): void {
    this.timer = undefined;
    const paths = [...this.pending];
    this.pending.clear();
    if (paths.length) this.flush(paths);
  }
}
