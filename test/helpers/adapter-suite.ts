/**
 * One behaviour suite for a runtime adapter's serve / reservePort / importModule, run against Bun and
 * Deno (test/runtime-bun.test.ts, test/runtime-deno.test.ts). The adapter runs in a child process
 * (test/fixtures/adapter-driver.ts) under the runtime being tested; this process is the client and
 * speaks real HTTP to it over TCP, TLS and unix sockets.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bun, deno, ROOT } from "../../scripts/tools.mjs";
import { LineDriver } from "./line-driver.ts";
import { closedWithin, rawRequest, readStream, sleep } from "./raw-http.ts";
import { selfSignedPem } from "./tls.ts";
import { canListen } from "./tsuv.ts";

export type AdapterRuntime = "bun" | "deno";

/** What the driver's apps answer on /echo. */
interface Echo {
  tag: string;
  method: string;
  path: string;
  header: string | null;
  body: string;
  remoteAddr: { hostname: string; port: number };
}

/** The Bun or Deno adapter under test, in test/fixtures/adapter-driver.ts. */
export class Driver extends LineDriver {
  constructor(runtime: AdapterRuntime) {
    const driver = join(ROOT, "test", "fixtures", "adapter-driver.ts");
    const cmd =
      runtime === "bun"
        ? [bun(), driver]
        : [deno(), "run", "-A", `--config=${join(ROOT, "deno.json")}`, driver];
    super(cmd, ROOT);
  }
}

const tcp = (port = 0, reusePort = false, host = "127.0.0.1") => ({ kind: "tcp", host, port, reusePort });

export function adapterSuite(runtime: AdapterRuntime): { driver: () => Driver; dir: () => string } {
  let driver: Driver;
  let dir: string;
  let key: string;
  let cert: string;
  let encryptedKey: string;

  beforeAll(() => {
    driver = new Driver(runtime);
    dir = mkdtempSync(join(tmpdir(), `tsuv-${runtime}-adapter-`));
    ({ key, cert, encryptedKey } = selfSignedPem());
  });

  afterAll(() => {
    driver?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const iface of ["fetch", "node"] as const) {
    test(`${iface}: GET and POST with headers and the client address`, async () => {
      const { address, scheme } = await driver.serve({ iface, listen: tcp() });
      expect(scheme).toBe("http");
      expect(address.kind).toBe("tcp");
      const port = address.port as number;
      const get = await rawRequest(port, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\n\r\n");
      const getBody = JSON.parse(get.response.slice(get.response.indexOf("\r\n\r\n") + 4));
      expect(getBody).toMatchObject({ method: "GET", path: "/echo", header: "hello", body: "" });
      expect(getBody.remoteAddr).toEqual({ hostname: "127.0.0.1", port: get.localPort });
      get.socket.destroy();

      const post = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: "payload" });
      expect(post.status).toBe(200);
      expect(post.headers.get("x-served-by")).toBe("a");
      expect(await post.json()).toMatchObject({ method: "POST", body: "payload" });
    });

    test(`${iface}: graceful close waits for an in-flight request, closes idle connections at once`, async () => {
      const { server, address } = await driver.serve({ iface, listen: tcp() });
      const port = address.port as number;
      const idle = await rawRequest(port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
      const slow = fetch(`http://127.0.0.1:${port}/slow?ms=700`).then(
        async (r) => `${r.status} ${await r.text()}`,
      );
      await sleep(150);
      const closing = driver.send({ op: "close", server });
      const idleClosedAfter = await closedWithin(idle.socket, 2000);
      expect(idleClosedAfter).toBeGreaterThanOrEqual(0);
      // Deno's fetch path closes idle connections only once running handlers are done (deno.ts).
      if (runtime === "bun" || iface === "node") expect(idleClosedAfter).toBeLessThan(400);
      expect(await slow).toBe("200 slow a");
      const closed = await closing;
      expect(closed.error).toBeUndefined();
      expect(closed.ms as number).toBeGreaterThanOrEqual(300);
      await expect(fetch(`http://127.0.0.1:${port}/echo`)).rejects.toThrow();
    });

    test(`${iface}: forceClose cuts a hung streaming response`, async () => {
      const { server, address } = await driver.serve({ iface, listen: tcp() });
      const response = await fetch(`http://127.0.0.1:${address.port}/hang`);
      const body = readStream(response);
      await sleep(100);
      await driver.send({ op: "forceClose", server });
      expect(await Promise.race([body, sleep(3000).then(() => "not cut")])).toStartWith("cut:h");
    });

    test(`${iface}: close() after forceClose() of a hung request still resolves`, async () => {
      const { server, address } = await driver.serve({ iface, listen: tcp() });
      const hung = fetch(`http://127.0.0.1:${address.port}/slow?ms=60000`).catch(() => "cut");
      await sleep(100);
      await driver.send({ op: "forceClose", server });
      expect(await hung).toBe("cut");
      const closed = await Promise.race([driver.send({ op: "close", server }), sleep(3000).then(() => null)]);
      expect(closed?.error).toBeUndefined();
      expect(closed).not.toBeNull();
    });

    test(`${iface}: two reusePort listeners on one port both get connections`, async () => {
      const first = await driver.serve({ iface, listen: tcp(0, true), tag: "one" });
      const port = first.address.port as number;
      const second = await driver.serve({ iface, listen: tcp(port, true), tag: "two" });
      expect(second.address.port).toBe(port);
      const counts: Record<string, number> = {};
      for (let i = 0; i < 200; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/echo`, { headers: { connection: "close" } });
        await r.arrayBuffer();
        const tag = r.headers.get("x-served-by") as string;
        counts[tag] = (counts[tag] ?? 0) + 1;
      }
      expect(counts.one).toBeGreaterThan(0);
      expect(counts.two).toBeGreaterThan(0);
      await Promise.all([first, second].map((s) => driver.send({ op: "forceClose", server: s.server })));
    });

    test(`${iface}: unix socket, mode 0666, removed on close`, async () => {
      const path = join(dir, `${iface}.sock`);
      const { server, address } = await driver.serve({ iface, listen: { kind: "unix", path } });
      expect(address).toEqual({ kind: "unix", path });
      expect(statSync(path).mode & 0o777).toBe(0o666);
      const r = await fetch("http://localhost/echo", { unix: path } as RequestInit);
      const body = (await r.json()) as Echo;
      expect(body.method).toBe("GET");
      if (iface === "fetch") expect(body.remoteAddr).toEqual({ hostname: "", port: 0 });
      await driver.send({ op: "close", server });
      expect(existsSync(path)).toBe(false);
    });

    test(`${iface}: TLS, with a plain key and with an encrypted key and its passphrase`, async () => {
      for (const tls of [
        { key, cert },
        { key: encryptedKey, cert, passphrase: "secret" },
      ]) {
        const { server, address, scheme } = await driver.serve({ iface, listen: tcp(), tls });
        expect(scheme).toBe("https");
        const r = await fetch(`https://localhost:${address.port}/echo`, { tls: { ca: cert } } as RequestInit);
        expect(((await r.json()) as Echo).method).toBe("GET");
        await driver.send({ op: "forceClose", server });
      }
    });
  }

  test("TLS: a wrong or missing passphrase is a clear ConfigError", async () => {
    const wrong = await driver.send({
      op: "serve",
      listen: tcp(),
      tls: { key: encryptedKey, cert, passphrase: "nope" },
    });
    expect(wrong.error?.name).toBe("ConfigError");
    expect(wrong.error?.message).toContain("Could not decrypt the TLS key file");
    const missing = await driver.send({ op: "serve", listen: tcp(), tls: { key: encryptedKey, cert } });
    expect(missing.error?.name).toBe("ConfigError");
    expect(missing.error?.message).toContain("--ssl-keyfile-password");
  });

  test("streams a response body chunk by chunk; close waits for the stream", async () => {
    const { server, address } = await driver.serve({ listen: tcp() });
    const response = await fetch(`http://127.0.0.1:${address.port}/stream?n=4&ms=120`);
    const body = readStream(response);
    await sleep(150);
    const closing = driver.send({ op: "close", server });
    expect(await body).toBe("done:chunk0\nchunk1\nchunk2\nchunk3\n");
    expect((await closing).error).toBeUndefined();
  });

  test("IPv6 literal host", async () => {
    const { server, address } = await driver.serve({ listen: tcp(0, false, "::1") });
    expect(address.host).toBe("::1");
    const r = await fetch(`http://[::1]:${address.port}/echo`);
    expect(((await r.json()) as Echo).remoteAddr.hostname).toBe("::1");
    await driver.send({ op: "forceClose", server });
  });

  test("--fd is refused with the reason", async () => {
    const answer = await driver.send({ op: "serve", listen: { kind: "fd", fd: 3 } });
    expect(answer.error?.name).toBe("ConfigError");
    expect(answer.error?.message).toContain("cannot serve on an inherited socket (--fd 3)");
  });

  test("reservePort refuses a busy port in uvicorn's words and lets a free fixed port go", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = await driver.send({ op: "reserve", host: "127.0.0.1", port });
      expect(busy.error?.name).toBe("ConfigError");
      expect(busy.error?.message).toBe(
        `[Errno 98] error while attempting to bind on address ('127.0.0.1', ${port}): address already in use`,
      );
      // A serve() on the busy port fails with the same words.
      const serve = await driver.send({ op: "serve", listen: tcp(port) });
      expect(serve.error?.message).toContain("[Errno 98] error while attempting to bind");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    // Free now: reserved, and not held (anyone may bind it, without reusePort too).
    const fixed = await driver.send({ op: "reserve", host: "127.0.0.1", port });
    expect(fixed.port).toBe(port);
    expect(await canListen(port)).toBe(true);
    // A port held by reusePort listeners collides too (a fixed port is bound without reusePort).
    const shared = await driver.serve({ listen: tcp(0, true) });
    const held = await driver.send({ op: "reserve", host: "127.0.0.1", port: shared.address.port });
    expect(held.error?.message).toContain("address already in use");
    await driver.send({ op: "forceClose", server: shared.server });
  });

  test("reservePort holds a port 0 until released: others are refused, reusePort workers join", async () => {
    const reserved = await driver.send({ op: "reserve", host: "127.0.0.1", port: 0 });
    const port = reserved.port as number;
    expect(port).toBeGreaterThan(0);
    // Held: another program's bind of the kernel's pick fails until the workers have it.
    expect(await canListen(port)).toBe(false);
    const worker = await driver.serve({ listen: tcp(port, true) });
    expect(worker.address.port).toBe(port);
    await driver.send({ op: "release", reservation: reserved.reservation });
    // Released: every connection reaches the worker (none waits on the parent's holding listener).
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`http://127.0.0.1:${port}/echo`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status),
      ),
    );
    expect(statuses).toEqual(Array(20).fill(200));
    expect(await canListen(port)).toBe(false); // the worker holds it still
    await driver.send({ op: "forceClose", server: worker.server });
  });

  test("importModule loads TypeScript with relative imports and the app's own node_modules", async () => {
    // Outside the repository, so nothing resolves through tsuv's own node_modules.
    const app = join(dir, "app");
    const pkg = join(app, "node_modules", "tsuv-test-greeting");
    mkdirSync(join(app, "lib"), { recursive: true });
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(app, "package.json"),
      `{"type":"module","dependencies":{"tsuv-test-greeting":"1.0.0"}}`,
    );
    writeFileSync(
      join(pkg, "package.json"),
      `{"name":"tsuv-test-greeting","version":"1.0.0","type":"module","main":"index.js"}`,
    );
    writeFileSync(join(pkg, "index.js"), `export const hello = "hi";\n`);
    writeFileSync(join(app, "lib", "greet.ts"), `export const greet = (who: string): string => who + "!";\n`);
    writeFileSync(
      join(app, "main.ts"),
      `import { hello } from "tsuv-test-greeting";\nimport { greet } from "./lib/greet.ts";\nexport default hello + " " + greet("app");\n`,
    );
    const answer = await driver.send({ op: "import", path: join(app, "main.ts") });
    expect(answer.error).toBeUndefined();
    expect(answer.value).toBe("hi app!");
  });

  return { driver: () => driver, dir: () => dir };
}

/** The raw-http.ts helpers re-exported: the Bun and Deno adapter tests import them from here. */
export { closedWithin, rawRequest, readStream, sleep, tcp };
