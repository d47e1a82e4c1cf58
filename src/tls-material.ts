/**
 * The TLS options (--ssl-*) as the adapters take them: the files read, each failure named with its
 * flag, the key, certificate, CA file and cipher list checked before any runtime sees them
 * (runtime/tls-check.ts), and the client-certificate level. Undefined for plain HTTP.
 */
import type { Config } from "./config.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import type { TlsMaterial } from "./runtime/adapter.ts";

type TlsConfig = Pick<
  Config,
  "sslKeyfile" | "sslCertfile" | "sslKeyfilePassword" | "sslCaCerts" | "sslCertReqs" | "sslCiphers"
>;

/**
 * How long to wait before reading the files a second time. A renewal that replaces the pair file by
 * file (certbot repoints its live/ links one at a time; `cp` writes in place) is over in
 * milliseconds, and a worker that starts in that window would otherwise fail.
 */
export const RENEWAL_SETTLE_MS = 250;

export async function loadTlsMaterial(
  config: TlsConfig,
  settleMs = RENEWAL_SETTLE_MS,
): Promise<TlsMaterial | undefined> {
  const { sslKeyfile, sslCertfile, sslKeyfilePassword, sslCertReqs, sslCiphers } = config;
  if (!sslKeyfile || !sslCertfile) return undefined;
  let files: Pick<TlsMaterial, "key" | "cert" | "ca">;
  try {
    files = await readCheckedFiles(config, sslKeyfile, sslCertfile);
  } catch (error) {
    // A key without its certificate, or a file read half-written, is what a renewal caught halfway
    // looks like: read once more after it has had time to finish. A pair that is wrong for good
    // fails the second read too, with what the files hold then.
    if (!(error instanceof ConfigError)) throw error;
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    files = await readCheckedFiles(config, sslKeyfile, sslCertfile);
  }
  const material: TlsMaterial = { ...files, passphrase: sslKeyfilePassword };
  if (sslCertReqs !== "0") material.clientCertificates = sslCertReqs === "2" ? "required" : "optional";
  if (sslCiphers !== undefined) {
    material.ciphers = sslCiphers;
    const { checkCiphers } = await import("./runtime/tls-check.ts");
    checkCiphers(sslCiphers);
  }
  return material;
}

/** The key, certificate and CA file read and checked; a ConfigError names the file at fault. */
async function readCheckedFiles(
  config: TlsConfig,
  keyfile: string,
  certfile: string,
): Promise<Pick<TlsMaterial, "key" | "cert" | "ca">> {
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
  const files = {
    key: await read("--ssl-keyfile", keyfile),
    cert: await read("--ssl-certfile", certfile),
    ca: config.sslCaCerts ? await read("--ssl-ca-certs", config.sslCaCerts) : undefined,
  };
  // Imported here: it loads node:crypto, which a plain-HTTP start-up should not pay for.
  const { checkTlsFiles } = await import("./runtime/tls-check.ts");
  checkTlsFiles(
    { ...files, passphrase: config.sslKeyfilePassword },
    { keyfile, certfile, cafile: config.sslCaCerts },
  );
  return files;
}
