/**
 * loadTlsMaterial (src/tls-material.ts) reads the --ssl-* files a second time when the first read
 * fails its check, so a worker that starts while a renewal replaces the pair file by file (certbot
 * repoints its live/ links one at a time; `cp` writes in place) serves the new pair instead of
 * failing. A pair that stays wrong is still refused, naming the files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../src/errors.ts";
import { loadTlsMaterial } from "../src/tls-material.ts";
import { type SelfSignedCert, selfSignedCert } from "./helpers/tls.ts";

let dir = "";
let old: SelfSignedCert;
let renewed: SelfSignedCert;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tsuv-tls-material-"));
  old = selfSignedCert(dir, "old-");
  renewed = selfSignedCert(dir, "renewed-");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The options for `name`.key/.pem in the test directory, with the defaults of the other TLS options. */
function options(name: string) {
  return {
    sslKeyfile: join(dir, `${name}.key`),
    sslCertfile: join(dir, `${name}.pem`),
    sslKeyfilePassword: undefined,
    sslCaCerts: undefined,
    sslCertReqs: "0" as const,
    sslCiphers: undefined,
  };
}

/** Run `change` `afterMs` into the load, as a renewal finishing while a worker reads the files. */
function later(afterMs: number, change: () => void): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(() => {
      change();
      resolve();
    }, afterMs),
  );
}

describe("a renewal caught halfway", () => {
  test("the new key with the old certificate: read again, the new pair is served", async () => {
    const files = options("halfway");
    copyFileSync(renewed.keyFile, files.sslKeyfile);
    copyFileSync(old.certFile, files.sslCertfile);
    const [material] = await Promise.all([
      loadTlsMaterial(files, 200),
      later(50, () => copyFileSync(renewed.certFile, files.sslCertfile)),
    ]);
    expect(material?.key).toBe(renewed.key);
    expect(material?.cert).toBe(renewed.cert);
  });

  test("a certificate read while it was copied in place (empty): read again", async () => {
    const files = options("in-place");
    copyFileSync(renewed.keyFile, files.sslKeyfile);
    writeFileSync(files.sslCertfile, "");
    const [material] = await Promise.all([
      loadTlsMaterial(files, 200),
      later(50, () => copyFileSync(renewed.certFile, files.sslCertfile)),
    ]);
    expect(material?.cert).toBe(renewed.cert);
  });
});

describe("a pair wrong for good", () => {
  test("is refused after the second read, naming both files", async () => {
    const files = options("mismatch");
    copyFileSync(renewed.keyFile, files.sslKeyfile);
    copyFileSync(old.certFile, files.sslCertfile);
    const started = performance.now();
    const error = await loadTlsMaterial(files, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `--ssl-keyfile: the key in ${files.sslKeyfile} does not match the certificate in ${files.sslCertfile}.`,
    );
    // It waited for the second read (a lower bound: this cannot fail on a slow machine).
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
  });

  test("a missing file is refused with its flag", async () => {
    const files = options("absent");
    await expect(loadTlsMaterial(files, 10)).rejects.toThrow(
      `--ssl-keyfile: cannot read ${files.sslKeyfile}`,
    );
  });
});
