/**
 * --ssl-ciphers (uvicorn's, Python's SSLContext.set_ciphers): the OpenSSL cipher list for TLS 1.2
 * and older; TLS 1.3 stays on with its own suites. Real handshakes against the real CLI with
 * node:tls as the client: a TLS 1.2 client offering a listed cipher is served, one offering only an
 * unlisted cipher is refused, and a TLS 1.3 client is served. Node.js and Bun; Deno's refusal, a
 * list no cipher matches and the flag without TLS are rows in cli-errors.test.ts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { type SelfSignedCert, selfSignedCert } from "./helpers/tls.ts";
import { killAll, type RuntimeKey, startTsuv } from "./helpers/tsuv.ts";

const LISTED = "ECDHE-RSA-AES128-GCM-SHA256";
const UNLISTED = "ECDHE-RSA-AES256-GCM-SHA384";

const ctx = { dir: "", cert: undefined as SelfSignedCert | undefined };
beforeAll(() => {
  ctx.dir = mkdtempSync(join(tmpdir(), "tsuv-ciphers-"));
  ctx.cert = selfSignedCert(ctx.dir);
});
afterAll(async () => {
  await killAll();
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** "TLSv1.2 ECDHE-RSA-..." for a handshake that completed, "refused" for one that did not. */
function handshake(
  port: number,
  options: { maxVersion?: "TLSv1.2"; minVersion?: "TLSv1.3"; ciphers?: string },
) {
  return new Promise<string>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options }, () => {
      resolve(`${socket.getProtocol()} ${socket.getCipher().name}`);
      socket.end();
    });
    socket.on("error", () => resolve("refused"));
  });
}

const cases: { runtime: RuntimeKey; extra?: string[] }[] = [
  { runtime: "node20" },
  { runtime: "node24" },
  { runtime: "bun" },
  { runtime: "bun", extra: ["--interface", "node"] },
  { runtime: "node24", extra: ["--workers", "2", "--worker-class", "thread"] },
];

for (const { runtime, extra = [] } of cases) {
  test(`${[runtime, ...extra].join(" ")}: TLS 1.2 limited to the list, TLS 1.3 still served`, async () => {
    const cert = ctx.cert as SelfSignedCert;
    const app = extra.includes("node") ? "test/fixtures/apps/node-app.ts" : "examples/hello.ts:app";
    const tsuv = await startTsuv(runtime, [
      app,
      "--port",
      "0",
      "--ssl-keyfile",
      cert.keyFile,
      "--ssl-certfile",
      cert.certFile,
      "--ssl-ciphers",
      LISTED,
      ...extra,
    ]);
    expect(await handshake(tsuv.port, { maxVersion: "TLSv1.2", ciphers: LISTED })).toBe(`TLSv1.2 ${LISTED}`);
    expect(await handshake(tsuv.port, { maxVersion: "TLSv1.2", ciphers: UNLISTED })).toBe("refused");
    expect(await handshake(tsuv.port, { minVersion: "TLSv1.3" })).toStartWith("TLSv1.3 TLS_");
    // And HTTP over it.
    const response = await fetch(`https://127.0.0.1:${tsuv.port}/`, {
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(response.status).toBe(200);
  }, 30_000);
}
