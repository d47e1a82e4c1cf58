/**
 * What to say about a flag tsuv does not know: uvicorn's flags that have no meaning here get the
 * reason and what to use instead (people bring their uvicorn command lines), and a typo gets the
 * closest flag, as click says "Did you mean --workers?".
 */

import { envVarName } from "./options.ts";
import { isServiceLink, serviceLinkWarning } from "./service-links.ts";

/** uvicorn's flags with no tsuv equivalent, and why. */
const UVICORN_ONLY: Record<string, string> = {
  "--loop": "uvicorn's event-loop choice does not apply, tsuv runs on the runtime's own loop",
  "--http": "uvicorn's HTTP-implementation choice does not apply, tsuv uses the runtime's own server",
  "--log-config":
    "a Python logging config does not apply; see --log-level, --log-format json and --no-access-log",
  "--h11-max-incomplete-event-size":
    "the runtime's HTTP server sets the request head's size limit (16 KiB on Node.js and Bun, 64 KiB fixed on Deno); raise it with NODE_OPTIONS=--max-http-header-size=BYTES or BUN_OPTIONS=--max-http-header-size=BYTES",
  "--ws-max-queue": "tsuv keeps no message queue to bound; --ws-max-size limits one message",
  "--ssl-version": "the runtime's TLS defaults apply (TLS 1.2 and 1.3)",
  "--http2":
    "there is no HTTP/2 switch: with --ssl-keyfile, Deno's server offers HTTP/2 itself (ALPN); Node.js's and Bun's speak HTTP/1.1",
  "--reset-contextvars": "Python's contextvars have no counterpart in a JavaScript app",
};

/**
 * Edit distance with swapped neighbours counting as one edit (optimal string alignment), so
 * `--wrokers` is one from `--workers`. Stops early past `limit`: flags are short, and this runs
 * once, on an error.
 */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const above = rows[i - 1] as number[];
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** The closest known flag, if one is close enough to be what was meant. */
export function closestFlag(flag: string, known: Iterable<string>): string | undefined {
  const limit = flag.length <= 6 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    if (!candidate.startsWith("--")) continue;
    const d = distance(flag, candidate, limit);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * A TSUV_* variable that names no setting (`TSUV_WORKER=4`) is ignored, as uvicorn ignores an
 * unknown UVICORN_* one; said once at start-up, with the closest setting, so that a typo in a
 * deployment's environment does not go unnoticed. Kubernetes' service links (service-links.ts) are
 * not typos: left alone, and said only where one takes a setting's name (TSUV_PORT).
 */
export function unknownEnvWarnings(
  env: Record<string, string | undefined>,
  known: ReadonlySet<string>,
): string[] {
  let entries: [string, string | undefined][];
  try {
    entries = Object.entries(env);
  } catch {
    return []; // Deno allowed to read some variables only (--allow-env=TSUV_*): no list to check.
  }
  const asFlag = (env: string) => `--${env.slice(5).toLowerCase().replace(/_/g, "-")}`;
  const flags = [...known].map(asFlag);
  const warnings: string[] = [];
  for (const [name, value] of entries) {
    if (!name.startsWith("TSUV_") || value === undefined || value === "") continue;
    if (isServiceLink(name, value)) {
      // The kubelet's variables for a Service named tsuv-*: said only where one hides a setting.
      if (known.has(name)) warnings.push(serviceLinkWarning(name, value));
      continue;
    }
    if (known.has(name)) continue;
    const closest = closestFlag(asFlag(name), flags);
    const suggestion = closest ? ` Did you mean ${envVarName(closest.slice(2))}?` : "";
    warnings.push(`${name} is set, but tsuv has no such setting: ignored.${suggestion}`);
  }
  return warnings;
}

/** The one-line usage error for an unknown flag. */
export function unknownOptionMessage(flag: string, known: Iterable<string>): string {
  const reason = UVICORN_ONLY[flag];
  if (reason !== undefined) return `No such option: ${flag}: ${reason}.`;
  const suggestion = closestFlag(flag, known);
  return suggestion ? `No such option: ${flag}. Did you mean ${suggestion}?` : `No such option: ${flag}`;
}
