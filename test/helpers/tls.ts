/**
 * A self-signed certificate for localhost (and 127.0.0.1), made with the openssl CLI: the key, the
 * certificate and the same key encrypted with PASSPHRASE, as files and as PEM text.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The password of `encryptedKeyFile`. */
export const PASSPHRASE = "secret";

/** PEM text, as a runtime adapter's TLS material takes it. */
export interface Pem {
  /** Unencrypted private key (PKCS#8). */
  key: string;
  cert: string;
  /** The same key, AES-256 encrypted with PASSPHRASE (PKCS#8 "ENCRYPTED PRIVATE KEY"). */
  encryptedKey: string;
}

/** The PEM text and the files it is in. */
export interface SelfSignedCert extends Pem {
  keyFile: string;
  certFile: string;
  encryptedKeyFile: string;
}

/** stderr is kept so that a failing openssl says why; its progress dots go nowhere. */
const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });

/** A new RSA key in `keyFile` and a self-signed certificate for it in `certFile`, valid one day. */
function selfSignedX509(keyFile: string, certFile: string, subject: string, ...extra: string[]): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    subject,
    ...extra,
  );
}

/**
 * A new key pair written into `dir` (the caller's, to remove) as `${prefix}key.pem`,
 * `${prefix}cert.pem` and `${prefix}encrypted-key.pem`; each call makes a new key, so a second
 * prefix gives a key that does not match the first certificate.
 */
export function selfSignedCert(dir: string, prefix = ""): SelfSignedCert {
  const keyFile = join(dir, `${prefix}key.pem`);
  const certFile = join(dir, `${prefix}cert.pem`);
  const encryptedKeyFile = join(dir, `${prefix}encrypted-key.pem`);
  // fetch() checks the name against the SAN, not the CN.
  selfSignedX509(keyFile, certFile, "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
  openssl("pkey", "-in", keyFile, "-aes256", "-passout", `pass:${PASSPHRASE}`, "-out", encryptedKeyFile);
  return {
    keyFile,
    certFile,
    encryptedKeyFile,
    key: readFileSync(keyFile, "utf8"),
    cert: readFileSync(certFile, "utf8"),
    encryptedKey: readFileSync(encryptedKeyFile, "utf8"),
  };
}

let shared: Pem | undefined;

/**
 * One certificate's PEM text per test process (an RSA key costs tens of ms of CPU). Its files are
 * removed at once: bun test runs no process "exit" handlers, so nothing could remove them later.
 */
export function selfSignedPem(): Pem {
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-tls-"));
    try {
      const { key, cert, encryptedKey } = selfSignedCert(dir);
      shared = { key, cert, encryptedKey };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return shared;
}

/** A CA, a client certificate it signed, and a self-signed "rogue" client certificate, as files. */
export interface ClientCertificates {
  caFile: string;
  client: { cert: string; key: string };
  rogue: { cert: string; key: string };
}

/** For --ssl-cert-reqs: written into `dir` (the caller's, to remove). */
export function clientCertificates(dir: string): ClientCertificates {
  const path = (name: string) => join(dir, name);
  selfSignedX509(path("ca-key.pem"), path("ca.pem"), "/CN=tsuv test CA");
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    path("client-key.pem"),
    "-out",
    path("client.csr"),
    "-subj",
    "/CN=client",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    path("client.csr"),
    "-CA",
    path("ca.pem"),
    "-CAkey",
    path("ca-key.pem"),
    "-CAcreateserial",
    "-out",
    path("client.pem"),
    "-days",
    "1",
  );
  selfSignedX509(path("rogue-key.pem"), path("rogue.pem"), "/CN=client");
  const read = (name: string) => readFileSync(path(name), "utf8");
  return {
    caFile: path("ca.pem"),
    client: { cert: read("client.pem"), key: read("client-key.pem") },
    rogue: { cert: read("rogue.pem"), key: read("rogue-key.pem") },
  };
}
