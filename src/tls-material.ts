/**
 * The TLS options (--ssl-*) as the adapters take them: the files read, each failure named with its
 * flag, the key, certificate, CA file and cipher list checked before any runtime sees them
 * (runtime/tls-check.ts), and the client-certificate level. Undefined for plain HTTP.
 */
import type { Config } from "./config.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import type { TlsMaterial } from "./runtime/adapter.ts";

export async function loadTlsMaterial(
  config: Pick<
    Config,
    "sslKeyfile" | "sslCertfile" | "sslKeyfilePassword" | "sslCaCerts" | "sslCertReqs" | "sslCiphers"
  >,
): Promise<TlsMaterial | undefined> {
  const { sslKeyfile, sslCertfile, sslKeyfilePassword, sslCaCerts, sslCertReqs, sslCiphers } = config;
  if (!sslKeyfile || !sslCertfile) return undefined;
  // Imported here, like tls-check below: a plain-HTTP start-up needs no node:fs (see runtime/index.ts).
  const { readFile } = await import("node:fs/promises");
  // A file that cannot be read (a directory, no permission) is named with its flag.
  const read = async (flag: string, path: string) => {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      throw new ConfigError(`${flag}: cannot read ${path}: ${errorMessage(error)}`);
    }
  };
  const material: TlsMaterial = {
    key: await read("--ssl-keyfile", sslKeyfile),
    cert: await read("--ssl-certfile", sslCertfile),
    passphrase: sslKeyfilePassword,
    ca: sslCaCerts ? await read("--ssl-ca-certs", sslCaCerts) : undefined,
  };
  if (sslCertReqs !== "0") material.clientCertificates = sslCertReqs === "2" ? "required" : "optional";
  if (sslCiphers !== undefined) material.ciphers = sslCiphers;
  // Imported here: it loads node:crypto, which a plain-HTTP start-up should not pay for.
  const { checkCiphers, checkTlsFiles } = await import("./runtime/tls-check.ts");
  checkTlsFiles(material, { keyfile: sslKeyfile, certfile: sslCertfile, cafile: sslCaCerts });
  if (sslCiphers !== undefined) checkCiphers(sslCiphers);
  return material;
}
