/**
 * A renewed certificate (certbot writing new --ssl-keyfile/--ssl-certfile files) is served after
 * SIGHUP without a restart of tsuv: each worker of the rolling restart reads the files afresh
 * (src/tls-material.ts runs in the worker), in both classes, on every runtime. The certificate a
 * server presents is told by its SHA-256 fingerprint, read with node:tls.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { type SelfSignedCert, selfSignedCert } from "./helpers/tls.ts";
import { killAll, RUNTIMES, startTwoWorkers, WORKER_CLASSES, waitLog } from "./helpers/tsuv.ts";

const ctx = {
  dir: "",
  old: undefined as SelfSignedCert | undefined,
  renewed: undefined as SelfSignedCert | undefined,
};

beforeAll(() => {
  ctx.dir = mkdtempSync(join(tmpdir(), "tsuv-renewal-"));
  ctx.old = selfSignedCert(ctx.dir, "old-");
  ctx.renewed = selfSignedCert(ctx.dir, "renewed-");
});
afterAll(async () => {
  await killAll();
  rmSync(ctx.dir, { recursive: true, force: true });
});

/**
 * The fingerprint of the certificate the server on `port` presents to a new connection; "reset" if
 * the connection fails (a closing listener's queue is reset on Bun and Deno, docs/workers.md).
 */
function presented(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => {
      clearTimeout(timer);
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timeout");
    }, 5000);
    socket.on("error", () => {
      clearTimeout(timer);
      resolve("reset");
    });
  });
}

/**
 * Puts `from` at `to` in one rename, as certbot swaps its live/ links: a worker that starts meanwhile
 * (the second of the two may still be booting) reads the old file or the new one, never half of one.
 * A copy in place once gave a booting worker an empty key: it failed to start, and a worker that
 * fails before the server is up stops the server (docs/workers.md).
 */
function replaceFile(from: string, to: string): void {
  copyFileSync(from, `${to}.new`);
  renameSync(`${to}.new`, to);
}

async function fingerprintOf(cert: SelfSignedCert): Promise<string> {
  const { X509Certificate } = await import("node:crypto");
  return new X509Certificate(cert.cert).fingerprint256;
}

describe.each(RUNTIMES)("%s", (runtime) => {
  for (const workerClass of WORKER_CLASSES) {
    test(`${workerClass} workers: SIGHUP serves the renewed certificate`, async () => {
      const old = ctx.old as SelfSignedCert;
      const renewed = ctx.renewed as SelfSignedCert;
      const live = mkdtempSync(join(ctx.dir, `${runtime}-${workerClass}-`));
      const keyFile = join(live, "key.pem");
      const certFile = join(live, "cert.pem");
      copyFileSync(old.keyFile, keyFile);
      copyFileSync(old.certFile, certFile);
      const server = await startTwoWorkers(runtime, "test/fixtures/apps/behaviour.ts:app", workerClass, [
        "--ssl-keyfile",
        keyFile,
        "--ssl-certfile",
        certFile,
      ]);
      expect(await presented(server.port)).toBe(await fingerprintOf(old));

      replaceFile(renewed.keyFile, keyFile);
      replaceFile(renewed.certFile, certFile);
      server.signal("SIGHUP");
      // Both slots restarted ("Child process [N] restarted", "Worker thread restarted"): every new
      // connection, whichever worker takes it, gets the renewed certificate.
      await waitLog(server, / restarted$/m, 2, 30_000);
      const want = await fingerprintOf(renewed);
      const seen: string[] = [];
      let timeouts = 0;
      const started = performance.now();
      while (performance.now() - started < 20_000) {
        const print = await presented(server.port);
        if (print === "timeout") timeouts++;
        else if (print !== "reset") seen.push(print);
        if (seen.slice(-8).length === 8 && seen.slice(-8).every((print) => print === want)) break;
      }
      expect(seen.slice(-8)).toEqual(Array(8).fill(want));
      // A handshake never answered would be a connection lost in the restart.
      expect(timeouts).toBe(0);
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
    }, 60_000);
  }
});
