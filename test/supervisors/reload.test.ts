/**
 * The reloader with fakes: include/exclude rules, --reload-dir validation, the debouncer, and
 * ChangeReload's decisions (restart on a change, one restart per burst, wait after a failed start,
 * bounded stop, signals) over FakeWorkerPorts, a fake watcher and a virtual clock. The real thing,
 * on three runtimes, is test/reload.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, EXIT } from "../../src/errors.ts";
import { ReloadProxy } from "../../src/runtime/reload-proxy.ts";
import { ChangeReload, RELOAD_DRAIN_SECONDS } from "../../src/supervisors/reload.ts";
import {
  chokidarBackend,
  Debouncer,
  defaultWatchBackend,
  fsWatchBackend,
  type Timers,
  type WatchBackend,
  WatchErrors,
} from "../../src/supervisors/watch.ts";
import {
  createReloadFilter,
  type PathKind,
  pythonList,
  type ReloadFilter,
  resolveReloadDirs,
} from "../../src/supervisors/watch-filter.ts";
import { fakeRuntime } from "../helpers/fake-runtime.ts";
import { type FakeWorkerPort, harness, settle } from "./fakes.ts";

describe("reload filter", () => {
  const filter = createReloadFilter();

  test("default includes: TypeScript, JavaScript and JSON files at any depth", () => {
    for (const path of [
      "main.ts",
      "src/app.tsx",
      "a/b/c.js",
      "x.mjs",
      "x.cjs",
      "v.jsx",
      "m.mts",
      "c.cts",
      "config/settings.json",
    ]) {
      expect(filter.file(path)).toBe(true);
    }
    for (const path of ["README.md", "src/style.css", "Makefile", "src/ts"])
      expect(filter.file(path)).toBe(false);
  });

  test("default excludes: node_modules, .git, dot-files and dot-directories, dist", () => {
    for (const path of [
      "node_modules/x.js",
      "packages/a/node_modules/lib/index.js",
      ".git/config.json",
      ".env",
      ".eslintrc.json",
      "src/.main.ts.swp",
      ".cache/build.js",
      "dist/cli.mjs",
      "src/dist/out.js",
    ]) {
      expect(filter.file(path)).toBe(false);
    }
    expect(filter.skipDir("node_modules")).toBe(true);
    expect(filter.skipDir("a/node_modules")).toBe(true);
    expect(filter.skipDir(".git")).toBe(true);
    expect(filter.skipDir("dist")).toBe(true);
    expect(filter.skipDir("src")).toBe(false);
    expect(filter.skipDir("src/distant")).toBe(false);
    expect(filter.file("src/distant/a.ts")).toBe(true);
  });

  test("user includes add to the defaults and beat the default dot-file exclude, not excluded directories", () => {
    const custom = createReloadFilter(["*.graphql", ".env"]);
    expect(custom.file("schema/user.graphql")).toBe(true);
    expect(custom.file("main.ts")).toBe(true);
    expect(custom.file(".env")).toBe(true);
    expect(custom.file("node_modules/x/schema.graphql")).toBe(false);
  });

  test("user excludes: by name, and by path relative to the watched directory", () => {
    const custom = createReloadFilter([], ["*.test.ts", "src/generated/**", "fixtures"]);
    expect(custom.file("src/a.test.ts")).toBe(false);
    expect(custom.file("src/a.ts")).toBe(true);
    expect(custom.file("src/generated/types.ts")).toBe(false);
    expect(custom.skipDir("src/generated")).toBe(true);
    expect(custom.skipDir("src/generated/deep")).toBe(true);
    expect(custom.file("test/fixtures/app.ts")).toBe(false);
    expect(custom.file("src/generatedx.ts")).toBe(true);
  });

  test("Windows separators are accepted", () => {
    expect(filter.file("src\\a.ts")).toBe(true);
    expect(filter.file("node_modules\\a.js")).toBe(false);
  });
});

describe("reload directories", () => {
  const dirs = new Set(["/proj", "/proj/src", "/proj/lib", "/other"]);
  const isDir = (path: string): PathKind =>
    dirs.has(path) ? "directory" : path.endsWith(".ts") ? "other" : "missing";

  test("default: the working directory", () => {
    expect(resolveReloadDirs([], "/proj", isDir)).toEqual(["/proj"]);
  });

  test("relative directories resolve against the working directory; nested and repeated ones are dropped", () => {
    expect(resolveReloadDirs(["src", "lib", "/other", "src/"], "/proj", isDir)).toEqual([
      "/proj/src",
      "/proj/lib",
      "/other",
    ]);
    expect(resolveReloadDirs([".", "src"], "/proj", isDir)).toEqual(["/proj"]);
  });

  test("a symlink in the tree to a directory outside it is not nested: it stays", () => {
    const withLink = (path: string): PathKind => (path === "/proj/linked" ? "directory" : isDir(path));
    const real = (path: string) => (path === "/proj/linked" ? "/other" : path);
    expect(resolveReloadDirs([".", "linked"], "/proj", withLink, real)).toEqual(["/proj", "/proj/linked"]);
    // A link within the tree is still nested.
    const inTree = (path: string) => (path === "/proj/linked" ? "/proj/src" : path);
    expect(resolveReloadDirs([".", "linked"], "/proj", withLink, inTree)).toEqual(["/proj"]);
  });

  test("a missing directory is a ConfigError (exit 1) naming the path", () => {
    let error: unknown;
    try {
      resolveReloadDirs(["src", "nope"], "/proj", isDir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(EXIT.config);
    expect((error as ConfigError).message).toBe("--reload-dir: directory does not exist: /proj/nope");
  });

  test("a file given as a directory is a ConfigError that says so", () => {
    expect(() => resolveReloadDirs(["main.ts"], "/proj", isDir)).toThrow(
      "--reload-dir: not a directory: /proj/main.ts",
    );
  });

  test("printed as uvicorn prints a Python list", () => {
    expect(pythonList(["/a", "/b c"])).toBe("['/a', '/b c']");
    expect(pythonList(["/it's"])).toBe("['/it\\'s']");
  });
});

/** Timers the test fires by hand. */
function manualTimers(): Timers & { fire(): void; pending(): number } {
  let next: { id: number; fn: () => void } | undefined;
  let id = 0;
  return {
    setTimeout(fn) {
      next = { id: ++id, fn };
      return id;
    },
    clearTimeout(handle) {
      if (next?.id === handle) next = undefined;
    },
    fire() {
      const current = next;
      next = undefined;
      current?.fn();
    },
    pending: () => (next ? 1 : 0),
  };
}

describe("Debouncer", () => {
  test("a burst of changes is flushed once, each path once, in first-seen order", () => {
    const timers = manualTimers();
    const flushed: string[][] = [];
    const debouncer = new Debouncer(250, (paths) => flushed.push(paths), timers);
    for (const path of ["a.ts", "b.ts", "a.ts", "c.ts", "b.ts"]) debouncer.push(path);
    expect(timers.pending()).toBe(1);
    expect(flushed).toEqual([]);
    timers.fire();
    expect(flushed).toEqual([["a.ts", "b.ts", "c.ts"]]);
    debouncer.push("d.ts");
    timers.fire();
    expect(flushed).toEqual([["a.ts", "b.ts", "c.ts"], ["d.ts"]]);
  });

  test("each change restarts the window (trailing debounce)", async () => {
    const flushed: string[][] = [];
    const debouncer = new Debouncer(40, (paths) => flushed.push(paths));
    for (let i = 0; i < 4; i++) {
      debouncer.push(`f${i}.ts`);
      await new Promise((done) => setTimeout(done, 10));
    }
    expect(flushed).toEqual([]);
    await new Promise((done) => setTimeout(done, 80));
    expect(flushed).toEqual([["f0.ts", "f1.ts", "f2.ts", "f3.ts"]]);
  });

  test("cancel drops pending changes", () => {
    const timers = manualTimers();
    const flushed: string[][] = [];
    const debouncer = new Debouncer(250, (paths) => flushed.push(paths), timers);
    debouncer.push("a.ts");
    debouncer.cancel();
    timers.fire();
    expect(flushed).toEqual([]);
  });
});

describe("WatchErrors", () => {
  test("the watch limit is said once, with what it means and the fix; other errors once each", () => {
    const errors = new WatchErrors();
    const limit = errors.line(
      new Error("ENOSPC: System limit for number of file watchers reached, watch '/app/d124/f.ts'"),
    );
    expect(limit).toStartWith(
      "File watcher error: ENOSPC: System limit for number of file watchers reached, watch '/app/d124/f.ts'. The system's limit on file watches is reached",
    );
    expect(limit).toContain("sysctl fs.inotify.max_user_watches");
    // chokidar: one per path it could not watch; Deno's words for the same; Bun's.
    expect(
      errors.line(new Error("ENOSPC: System limit for number of file watchers reached, watch '/app/d125'")),
    ).toBeUndefined();
    expect(errors.line(new Error('OS file watch limit reached. about ["/app/d31"]'))).toBeUndefined();
    expect(errors.line(new Error("EACCES: permission denied, watch '/app/secret'"))).toBe(
      "File watcher error: EACCES: permission denied, watch '/app/secret'",
    );
    expect(errors.line(new Error("EACCES: permission denied, watch '/app/secret'"))).toBeUndefined();
    // Deno's wording alone is recognised as the limit too.
    expect(new WatchErrors().line(new Error('OS file watch limit reached. about ["/app/d31"]'))).toContain(
      "limit on file watches is reached",
    );
  });
});

describe("watch backend choice", () => {
  test("chokidar on Node/Linux, the runtime's fs.watch on Bun and Deno (and Node where it is native)", () => {
    expect(defaultWatchBackend({ name: "node", os: "linux" }).name).toBe("chokidar");
    expect(defaultWatchBackend({ name: "node", os: "darwin" }).name).toBe("fs.watch");
    expect(defaultWatchBackend({ name: "bun", os: "linux" }).name).toBe("fs.watch");
    expect(defaultWatchBackend({ name: "deno", os: "linux" }).name).toBe("fs.watch");
  });
});

class FakeBackend implements WatchBackend {
  readonly name = "fakewatch";
  readonly dirs: string[] = [];
  closed = false;
  private listeners: { dir: string; filter: ReloadFilter; onChange: (path: string) => void }[] = [];

  async watch(dir: string, filter: ReloadFilter, onChange: (path: string) => void) {
    this.dirs.push(dir);
    this.listeners.push({ dir, filter, onChange });
    return {
      ready: Promise.resolve(),
      close: async () => {
        this.closed = true;
      },
    };
  }

  /** A file changed (path relative to the first watched directory). */
  change(rel: string): void {
    for (const { dir, filter, onChange } of this.listeners) if (filter.file(rel)) onChange(join(dir, rel));
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await settle();
  }
  throw new Error(`never happened: ${what}`);
}

function reloader(argv: string[] = [], options: Parameters<typeof harness>[1] = {}) {
  const h = harness("process", {
    argv: ["main:app", "--reload", "--reload-delay", "0", ...argv],
    ...options,
  });
  const backend = new FakeBackend();
  const supervisor = new ChangeReload(h.config, h.adapter, h.logger, {
    clock: h.clock,
    backend,
    cwd: "/proj",
    pathKind: (path) => (path === "/proj" || path === "/proj/src" ? "directory" : "missing"),
  });
  const port = (i: number) => h.ports[i] as FakeWorkerPort;
  return { ...h, backend, supervisor, port };
}

describe("ChangeReload", () => {
  test("logs in uvicorn's shape, shares the parent-bound socket on Node, and stops on SIGTERM", async () => {
    const r = reloader(["--port", "0"]);
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    expect(r.backend.dirs).toEqual(["/proj"]);
    expect(r.port(0).shared?.fd).toBe(10);
    expect(r.port(0).boot.listen).toEqual({ kind: "fd", fd: 10 });
    // The child drains briefly unless the user chose a limit.
    expect(r.port(0).boot.argv[0]).toBe(`--timeout-graceful-shutdown=${RELOAD_DRAIN_SECONDS}`);
    expect(r.port(0).boot.argv.slice(1)).toEqual(r.config.argv);
    r.raise("SIGTERM");
    expect(await done).toBe(EXIT.ok);
    expect(r.port(0).stopped).toBe(true);
    expect(r.backend.closed).toBe(true);
    expect(r.sharedClosed()).toBe(true);
    expect(r.logger.messages("info")).toEqual([
      "Will watch for changes in these directories: ['/proj']",
      "tsuv running on http://127.0.0.1:5555 (Press CTRL+C to quit)",
      "Started reloader process [4242] using fakewatch",
      "Stopping reloader process [4242]",
    ]);
    expect(r.subscribed.size).toBe(0);
  });

  test("a change stops the child and starts a new one; paths are shown relative to the working directory", async () => {
    const r = reloader(["--reload-dir", "src"]);
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    r.backend.change("x.ts");
    await until(() => r.ports.length === 2, "second child");
    expect(r.port(0).stopped).toBe(true);
    expect(r.port(0).killed).toBe(false);
    expect(r.logger.messages("warning")).toEqual(["Changes detected in 'src/x.ts'. Reloading..."]);
    r.raise("SIGINT");
    expect(await done).toBe(EXIT.ok);
    expect(r.port(1).stopped).toBe(true);
  });

  test("a burst of changes is one restart", async () => {
    const r = reloader(["--reload-delay", "0.05"]);
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    for (const file of ["a.ts", "b.ts", "a.ts", "node_modules/x.js", ".env", "c.json"])
      r.backend.change(file);
    await until(() => r.ports.length === 2, "second child");
    await new Promise((wait) => setTimeout(wait, 120));
    expect(r.ports.length).toBe(2);
    expect(r.logger.messages("warning")).toEqual([
      "Changes detected in 'a.ts', 'b.ts', 'c.json'. Reloading...",
    ]);
    r.raise("SIGTERM");
    await done;
  });

  test("excluded paths do not restart", async () => {
    const r = reloader();
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    for (const file of ["node_modules/x.js", ".env", ".git/index.json", "dist/a.js", "README.md"])
      r.backend.change(file);
    await new Promise((wait) => setTimeout(wait, 50));
    expect(r.ports.length).toBe(1);
    r.raise("SIGTERM");
    await done;
  });

  test("a child that fails to start is reported, the reloader waits, and a change starts a new one", async () => {
    const r = reloader([], { autoReady: false });
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    r.port(0).fatal(3);
    r.port(0).exit(3);
    await until(() => r.logger.messages("error").length === 1, "failure logged");
    expect(r.logger.messages("error")).toEqual([
      `Child process [${r.port(0).pid}] failed to start (exit code 3). Waiting for changes to reload...`,
    ]);
    await r.clock.advance(5000);
    expect(r.ports.length).toBe(1);
    r.backend.change("main.ts");
    await until(() => r.ports.length === 2, "second child");
    r.port(1).markReady();
    r.raise("SIGTERM");
    expect(await done).toBe(EXIT.ok);
    expect(r.logger.messages("error").length).toBe(1);
  });

  test("a child that crashes after start is reported once and not restarted until a change", async () => {
    const r = reloader();
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1 && r.port(0).ready, "first child");
    r.port(0).exit(1);
    await until(() => r.logger.messages("error").length === 1, "death logged");
    expect(r.logger.last).toBe(
      `Child process [${r.port(0).pid}] died (exit code 1). Waiting for changes to reload...`,
    );
    await r.clock.advance(2000);
    expect(r.ports.length).toBe(1);
    r.raise("SIGTERM");
    await done;
  });

  test("a child that ignores stop is killed after the stop timeout", async () => {
    const r = reloader(["--timeout-graceful-shutdown", "1"]);
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    expect(r.port(0).boot.argv).toEqual(r.config.argv);
    r.port(0).exitOnStop = false;
    const stopAt = r.clock.now();
    r.backend.change("main.ts");
    await until(() => r.ports.length === 2, "second child");
    expect(r.port(0).killed).toBe(true);
    expect(r.clock.now() - stopAt).toBeGreaterThanOrEqual(2000);
    expect(r.logger.messages("warning")).toContain(
      `Child process [${r.port(0).pid}] did not exit within 2.00 seconds.`,
    );
    r.raise("SIGTERM");
    await done;
  });

  test("a second SIGINT kills a child that is still draining", async () => {
    const r = reloader();
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    r.port(0).exitOnStop = false;
    r.raise("SIGINT");
    await until(() => r.port(0).stopped, "stop sent");
    expect(r.port(0).killed).toBe(false);
    r.raise("SIGINT");
    expect(await done).toBe(EXIT.ok);
    expect(r.port(0).killed).toBe(true);
  });

  test("SIGHUP restarts the child", async () => {
    const r = reloader();
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    r.raise("SIGHUP");
    await until(() => r.ports.length === 2, "second child");
    expect(r.logger.messages("info")).toContain("Received SIGHUP, reloading.");
    r.raise("SIGTERM");
    await done;
  });

  test("Bun and Deno: the reloader listens itself and routes to each ready child; held during a restart", async () => {
    const runtime = fakeRuntime({ name: "bun", displayName: "Bun", caps: { passSocketToChild: false } });
    const r = reloader(["--port", "0"], { runtime, sharedFd: null, autoReady: false });
    const done = r.supervisor.run();
    await until(() => r.ports.length === 1, "first child");
    const proxy = r.supervisor.proxy as ReloadProxy;
    expect(proxy).toBeDefined();
    expect(r.probed).toEqual([]);
    expect(r.port(0).shared).toBeNull();
    expect(r.port(0).boot.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 0, reusePort: false });
    const running = r.logger.messages("info").find((line) => line.startsWith("tsuv running on")) ?? "";
    const port = Number(running.match(/:(\d+) /)?.[1]);
    expect(port).toBeGreaterThan(0);

    // Before the first child is ready, a request waits; once it is, the request reaches it.
    const first = await upstream("one");
    const early = get(port);
    await until(() => proxy.heldCount === 1, "request held");
    r.port(0).markReady({ kind: "tcp", host: "127.0.0.1", port: first.port });
    expect(await early).toBe("one");

    // A change: held from the moment it is seen until the new child is ready.
    r.backend.change("main.ts");
    await until(() => r.ports.length === 2, "second child");
    expect(r.port(1).boot.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 0, reusePort: false });
    const during = get(port);
    await until(() => proxy.heldCount === 1, "request held during the restart");
    const second = await upstream("two");
    r.port(1).markReady({ kind: "tcp", host: "127.0.0.1", port: second.port });
    expect(await during).toBe("two");
    expect(await get(port)).toBe("two");

    // Shutdown closes the listener: nothing is accepted afterwards.
    r.raise("SIGTERM");
    expect(await done).toBe(EXIT.ok);
    expect(proxy.size).toBe(0);
    await expect(get(port)).rejects.toThrow();
    first.close();
    second.close();
  });

  test("a missing --reload-dir rejects with a ConfigError before anything starts", async () => {
    const r = reloader(["--reload-dir", "missing"]);
    await expect(r.supervisor.run()).rejects.toThrow("--reload-dir: directory does not exist: /proj/missing");
    expect(r.ports.length).toBe(0);
  });
});

describe("watch backends on real files", () => {
  const backends: WatchBackend[] = [fsWatchBackend, chokidarBackend];
  for (const backend of backends) {
    test(`${backend.name}: edits, new nested directories and atomic saves are seen; excluded paths are not`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsuv-watch-"));
      try {
        mkdirSync(join(dir, "src"));
        mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
        writeFileSync(join(dir, "src", "a.ts"), "1");
        const seen: string[] = [];
        const errors: unknown[] = [];
        const watching = await backend.watch(
          dir,
          createReloadFilter(),
          (path) => seen.push(path),
          (e) => errors.push(e),
        );
        await watching.ready;
        const expectSeen = async (path: string) => {
          for (let i = 0; i < 100 && !seen.includes(path); i++)
            await new Promise((done) => setTimeout(done, 20));
          expect(seen).toContain(path);
        };
        try {
          writeFileSync(join(dir, "src", "a.ts"), "2");
          await expectSeen(join(dir, "src", "a.ts"));
          mkdirSync(join(dir, "src", "new", "deeper"), { recursive: true });
          writeFileSync(join(dir, "src", "new", "deeper", "b.ts"), "1");
          await expectSeen(join(dir, "src", "new", "deeper", "b.ts"));
          // chokidar drops a second change to one path within 50 ms (harmless for a reload: the
          // debounced restart comes later and reads the latest content), so let that pass first.
          await new Promise((done) => setTimeout(done, 100));
          writeFileSync(join(dir, "src", ".a.ts.tmp"), "3");
          renameSync(join(dir, "src", ".a.ts.tmp"), join(dir, "src", "a.ts"));
          seen.length = 0;
          await expectSeen(join(dir, "src", "a.ts"));
          writeFileSync(join(dir, "node_modules", "dep", "index.js"), "x");
          writeFileSync(join(dir, ".env"), "X=1");
          writeFileSync(join(dir, "notes.md"), "x");
          writeFileSync(join(dir, "src", "c.json"), "{}");
          await expectSeen(join(dir, "src", "c.json"));
          expect(seen.filter((p) => !p.endsWith(".ts") && !p.endsWith(".json"))).toEqual([]);
          expect(errors).toEqual([]);
        } finally {
          await watching.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/** A real HTTP server on 127.0.0.1:0 answering `body`: what a child behind the proxy would be. */
function upstream(body: string): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const server = createServer((_req, res) => res.end(body));
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close() {
          server.close();
          server.closeAllConnections();
        },
      }),
    );
  });
}

/** GET `path`: the body. On a fresh connection, or on the keep-alive `agent`'s when given. */
function get(
  port: number,
  path = "/",
  via: { agent?: Agent; headers?: Record<string, string> } = {},
): Promise<string> {
  const { agent = false, headers = {} } = via;
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, agent, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

const wait = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await wait(10);
  }
  throw new Error(`never happened: ${what}`);
}

describe("ReloadProxy (real sockets)", () => {
  async function proxyOn(holdLimitMs?: number) {
    const proxy = new ReloadProxy({ os: "linux", holdLimitMs });
    const address = await proxy.listen({ kind: "tcp", host: "127.0.0.1", port: 0 }, 128);
    return { proxy, port: address.kind === "tcp" ? address.port : 0 };
  }

  test("a busy port is uvicorn's bind error", async () => {
    const { proxy, port } = await proxyOn();
    try {
      const second = new ReloadProxy({ os: "linux" });
      await expect(second.listen({ kind: "tcp", host: "127.0.0.1", port }, 128)).rejects.toThrow(
        `[Errno 98] error while attempting to bind on address ('127.0.0.1', ${port}): address already in use`,
      );
    } finally {
      proxy.close();
    }
  });

  test("pipes both ways, bodies larger than the replay buffer included", async () => {
    const { proxy, port } = await proxyOn();
    const echo = createServer((req, res) => req.pipe(res));
    await new Promise<void>((done) => echo.listen(0, "127.0.0.1", done));
    proxy.route({ host: "127.0.0.1", port: (echo.address() as AddressInfo).port });
    try {
      const body = "x".repeat(3_000_000);
      const echoed = await new Promise<string>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, method: "POST", agent: false }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => resolve(text));
        });
        req.on("error", reject);
        req.end(body);
      });
      expect(echoed.length).toBe(body.length);
    } finally {
      proxy.close();
      echo.close();
      echo.closeAllConnections();
    }
  });

  test("a child that cannot be reached: the connection waits for the next one", async () => {
    const { proxy, port } = await proxyOn();
    const gone = await upstream("never");
    gone.close();
    proxy.route({ host: "127.0.0.1", port: gone.port });
    const pending = get(port);
    await eventually(() => proxy.heldCount === 1, "held after a refused connect");
    const next = await upstream("next");
    proxy.route({ host: "127.0.0.1", port: next.port });
    try {
      expect(await pending).toBe("next");
    } finally {
      proxy.close();
      next.close();
    }
  });

  test("a request the replaced child closed without answering is sent to the new child", async () => {
    const { proxy, port } = await proxyOn();
    // An old child that reads the request and closes without a byte (as one stopping does with an
    // idle keep-alive connection the client reuses at that moment).
    const rude = createNetServer((socket: Socket) => {
      socket.once("data", () => setTimeout(() => socket.destroy(), 50));
    });
    await new Promise<void>((done) => rude.listen(0, "127.0.0.1", done));
    proxy.route({ host: "127.0.0.1", port: (rude.address() as AddressInfo).port });
    const pending = get(port);
    await wait(20);
    proxy.hold();
    const next = await upstream("replayed");
    proxy.route({ host: "127.0.0.1", port: next.port });
    try {
      expect(await pending).toBe("replayed");
    } finally {
      proxy.close();
      rude.close();
      next.close();
    }
  });

  test("a keep-alive connection reused as the replaced child closes it: the request goes to the new child", async () => {
    const { proxy, port } = await proxyOn();
    // Answers the first request on a connection, then closes it when the next one comes (a
    // stopping child closing what it saw as an idle keep-alive connection).
    const old = createNetServer((socket: Socket) => {
      let seen = 0;
      socket.on("data", () => {
        seen += 1;
        if (seen === 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nold");
        else socket.destroy();
      });
    });
    await new Promise<void>((done) => old.listen(0, "127.0.0.1", done));
    proxy.route({ host: "127.0.0.1", port: (old.address() as AddressInfo).port });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = () => get(port, "/", { agent });
    const next = await upstream("new");
    try {
      expect(await viaAgent()).toBe("old");
      proxy.hold();
      proxy.route({ host: "127.0.0.1", port: next.port });
      expect(await viaAgent()).toBe("new");
      expect(proxy.size).toBe(1);
    } finally {
      agent.destroy();
      proxy.close();
      old.close();
      next.close();
    }
  });

  test("an idle keep-alive connection the replaced child closes stays open for the new child", async () => {
    const { proxy, port } = await proxyOn();
    const old = await upstream("old");
    proxy.route({ host: "127.0.0.1", port: old.port });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = (headers: Record<string, string> = {}) => get(port, "/", { agent, headers });
    const next = await upstream("new");
    try {
      expect(await viaAgent()).toBe("old");
      proxy.hold();
      old.close(); // closes the idle keep-alive connection
      await wait(50);
      expect(proxy.size).toBe(1);
      proxy.route({ host: "127.0.0.1", port: next.port });
      expect(await viaAgent()).toBe("new");
      expect(proxy.size).toBe(1);
      // A request that asked for `connection: close` gets its close passed on.
      expect(await viaAgent({ connection: "close" })).toBe("new");
      await eventually(() => proxy.size === 0, "closed after connection: close");
    } finally {
      agent.destroy();
      proxy.close();
      next.close();
    }
  });

  test("the current child closing without an answer is passed on, not replayed", async () => {
    const { proxy, port } = await proxyOn();
    const rude = createNetServer((socket: Socket) => {
      socket.once("data", () => socket.destroy());
    });
    await new Promise<void>((done) => rude.listen(0, "127.0.0.1", done));
    proxy.route({ host: "127.0.0.1", port: (rude.address() as AddressInfo).port });
    try {
      await expect(get(port)).rejects.toThrow();
      await eventually(() => proxy.size === 0, "connection closed");
    } finally {
      proxy.close();
      rude.close();
    }
  });

  test("a connection held past the limit is answered 503 and closed", async () => {
    const { proxy, port } = await proxyOn(200);
    try {
      const started = Date.now();
      const body = await get(port);
      expect(body).toBe("The app is not running: tsuv --reload is waiting for a change.\n");
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(proxy.heldCount).toBe(0);
    } finally {
      proxy.close();
    }
  });

  test("stopAccepting drops held connections and refuses new ones; close cuts piped ones", async () => {
    const { proxy, port } = await proxyOn();
    const slow = createServer(() => {});
    await new Promise<void>((done) => slow.listen(0, "127.0.0.1", done));
    const held = get(port);
    await eventually(() => proxy.heldCount === 1, "held");
    proxy.route({ host: "127.0.0.1", port: (slow.address() as AddressInfo).port });
    const piped = get(port);
    await eventually(() => proxy.size === 2, "piped");
    proxy.hold();
    const late = new Promise<void>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      socket.on("close", () => resolve());
    });
    await eventually(() => proxy.heldCount === 1, "late one held");
    proxy.stopAccepting();
    await late;
    expect(proxy.size).toBe(2);
    await expect(get(port)).rejects.toThrow();
    const outcomes = Promise.allSettled([held, piped]);
    proxy.close();
    expect((await outcomes).map((o) => o.status)).toEqual(["rejected", "rejected"]);
    expect(proxy.size).toBe(0);
    slow.close();
    slow.closeAllConnections();
  });
});
