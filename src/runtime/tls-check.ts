/**
 * Check the TLS files before a runtime sees them. Each runtime's own error for a bad key or
 * certificate is an OpenSSL code with no file name (Node: "key values mismatch"), and Bun and Deno
 * report it as a bind failure; Node and Deno ignore a garbage --ssl-ca-certs that Bun refuses.
 * node:crypto parses PEM the same way on all three, so one check gives one clear line everywhere.
 */
import type { KeyObject, X509Certificate } from "node:crypto";
import { ConfigError, errorMessage } from "../errors.ts";
import type { TlsMaterial } from "./adapter.ts";
import { nodeCrypto as crypto, nodeTls as tls } from "./builtin.ts";

export interface TlsFiles {
  keyfile: string;
  certfile: string;
  cafile?: string;
}

function certificate(pem: string, flag: string, path: string): X509Certificate {
  try {
    return new (crypto().X509Certificate)(pem);
  } catch (error) {
    throw new ConfigError(`${flag}: ${path} is not a PEM certificate (${errorMessage(error)}).`);
  }
}

/** Throws a ConfigError naming the file at fault; an encrypted key is left to plainTls (tls-key.ts). */
export function checkTlsFiles(material: TlsMaterial, files: TlsFiles): void {
  const cert = certificate(material.cert, "--ssl-certfile", files.certfile);
  if (material.ca !== undefined && files.cafile) certificate(material.ca, "--ssl-ca-certs", files.cafile);
  // An encrypted key without (or with the wrong) password gets plainTls's own message.
  if (material.key.includes("ENCRYPTED")) {
    if (!material.passphrase) return;
    try {
      crypto().createPrivateKey({ key: material.key, passphrase: material.passphrase });
    } catch {
      return;
    }
  }
  let key: KeyObject;
  try {
    key = crypto().createPrivateKey({ key: material.key, passphrase: material.passphrase });
  } catch (error) {
    throw new ConfigError(
      `--ssl-keyfile: ${files.keyfile} is not a PEM private key (${errorMessage(error)}).`,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(
      `--ssl-keyfile: the key in ${files.keyfile} does not match the certificate in ${files.certfile}.`,
    );
  }
}

/**
 * --ssl-ciphers: a list in which the TLS library knows no cipher fails here with the flag's name,
 * not as an OpenSSL code when the server starts. node:tls uses the same library as the server
 * (OpenSSL on Node, BoringSSL on Bun), so what passes here, the server takes.
 */
export function checkCiphers(ciphers: string): void {
  try {
    tls().createSecureContext({ ciphers });
  } catch {
    throw new ConfigError(
      `--ssl-ciphers: no cipher in '${ciphers}' is known to the TLS library (see \`openssl ciphers\` for the names).`,
    );
  }
}
