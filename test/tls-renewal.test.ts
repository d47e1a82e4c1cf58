/**
 * A renewed certificate (certbot writing new --ssl-keyfile/--ssl-certfile files) is served after
 * SIGHUP without a restart of tsuv: each worker of the rolling restart reads the files afresh
 * (src/tls-material.ts runs in the worker), in both classes, on every runtime. The certificate a
 * server presents is told by its SHA-256 fingerprint, read with node:tls.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from "node:fs";
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
 * The key and certificate as a Kubernetes secret volume holds them: `live/current -> <version>/`,
 * and the files read as `live/current/key.pem`. A renewal writes a new version directory and swaps
 * the link in one rename, so a worker never reads a key without its certificate. (CI caught two
 * races with the files replaced one by one: a copy in place gave a booting worker an empty key, and
 * separate renames gave one the new key with the old certificate. Either worker failed to start, and
 * a worker that fails before the server is up stops the server, docs/workers.md.)
 */
function install(live: string, cert: SelfSignedCert, version: string): void {
  const dir = join(live, version);
  mkdirSync(dir);
  copyFileSync(cert.keyFile, join(dir, "key.pem"));
  copyFileSync(cert.certFile, join(dir, "cert.pem"));
  symlinkSync(version, join(live, "next"));
  renameSync(join(live, "next"), join(live, "current"));
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
      install(live, old, "1");
      // An app with startup hooks: each worker says "Application startup complete." once it has
      // loaded, just before it reads the TLS files and listens.
      const server = await startTwoWorkers(
        runtime,
        "test/fixtures/apps/behaviour.ts:withLifespan",
        workerClass,
        [
          "--ssl-keyfile",
          join(live, "current", "key.pem"),
          "--ssl-certfile",
          join(live, "current", "cert.pem"),
        ],
      );
      await waitLog(server, /Application startup complete\./, 2, 30_000);
      expect(await presented(server.port)).toBe(await fingerprintOf(old));
      // A worker reads the key and then the certificate just after that line, and a swap between
      // the two reads (the pair is two files, however it is swapped) fails it, so renew only once
      // both have surely read them. Workers say nothing when they are listening; a second is far
      // more than the two reads take, even under CI's load.
      await Bun.sleep(1000);

      install(live, renewed, "2");
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
