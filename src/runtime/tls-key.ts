/**
 * TLS material as the runtimes' own servers take it. Deno.serve has no passphrase option, so an
 * encrypted key is decrypted here with node:crypto (present on all three runtimes); Bun could take
 * the passphrase itself, but decrypting here gives every runtime the same clear error for a wrong
 * or missing password instead of an OpenSSL code and a stack.
 */
import { ConfigError, errorMessage } from "../errors.ts";
import type { TlsMaterial } from "./adapter.ts";
import { nodeCrypto as crypto } from "./builtin.ts";

/**
 * TlsMaterial with an unencrypted PEM key, and client certificates asked for as Bun.serve and
 * node:https take it (`requestCert`; `rejectUnauthorized` false for --ssl-cert-reqs 1, where a
 * Node server refuses a bad certificate itself, see node-http.ts).
 */
export interface PlainTls {
  key: string;
  cert: string;
  ca?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ciphers?: string;
}

/**
 * The protocols a Node https server offers in ALPN. Node's own default is `http/1.1` alone, so a
 * client that offers only `http/1.0` (`curl --http1.0`) was refused in the TLS handshake ("no
 * application protocol"); uvicorn and Bun serve it. A client offering HTTP/2 still gets HTTP/1.1.
 */
export const NODE_ALPN = ["http/1.1", "http/1.0"];

/** PKCS#8 ("ENCRYPTED PRIVATE KEY") or traditional OpenSSL ("Proc-Type: 4,ENCRYPTED") encryption. */
function isEncrypted(pem: string): boolean {
  return pem.includes("ENCRYPTED");
}

export function plainTls(material: TlsMaterial): PlainTls {
  const { cert, ca } = material;
  let key = material.key;
  if (isEncrypted(key)) {
    if (!material.passphrase) {
      throw new ConfigError("The TLS key file is encrypted; give its password with --ssl-keyfile-password.");
    }
    try {
      key = crypto()
        .createPrivateKey({ key, passphrase: material.passphrase })
        .export({ type: "pkcs8", format: "pem" })
        .toString();
    } catch (error) {
      throw new ConfigError(
        `Could not decrypt the TLS key file with the password from --ssl-keyfile-password (wrong password?): ${errorMessage(error)}`,
      );
    }
  }
  const plain: PlainTls = ca === undefined ? { key, cert } : { key, cert, ca };
  if (material.clientCertificates) {
    plain.requestCert = true;
    plain.rejectUnauthorized = material.clientCertificates === "required";
  }
  // A list without TLS 1.3 suites leaves TLS 1.3 on with its defaults, in OpenSSL (Node) and
  // BoringSSL (Bun) alike, as Python's set_ciphers() does (test/tls-ciphers.test.ts).
  if (material.ciphers !== undefined) plain.ciphers = material.ciphers;
  return plain;
}
