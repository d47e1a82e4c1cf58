/**
 * Default response headers (uvicorn's `server`, `date` and `--header` ones), built once; the date
 * is formatted at most once a second, when a response first needs it in a new second: a request
 * costs a clock read, and an idle server no timer (uvicorn refreshes it on its main loop's tick,
 * which woke tsuv's idle servers every second for a header nobody was sent).
 *
 * Headers the app set win (uvicorn would send both). A `--header server:X` or `--header date:X`
 * replaces the built-in one, as in uvicorn.
 */
import { errorMessage, UsageError } from "../errors.ts";
import { dropUpstreamHeaders, type FetchDecoding } from "../fetch-decoding.ts";
import { newResponse } from "../native-response.ts";

/** The protocol key a response implements to take the default headers lazily (see apply()). */
const ADD_DEFAULT_HEADERS = Symbol.for("tsuv.addDefaultHeaders");

export interface DefaultHeadersOptions {
  /** `server: tsuv` (--server-header). */
  serverHeader: boolean;
  /** RFC 7231 `date` (--date-header). */
  dateHeader: boolean;
  /** Custom headers (--header), names lowercased as config.ts leaves them. */
  headers: readonly (readonly [string, string])[];
  /**
   * The runtime's server writes a current `date` itself when a response has none (Bun.serve and
   * Deno.serve do): apply() then leaves the date out, saving a Headers lookup and write per request
   * (~1,000 instructions on Bun) for the same bytes on the wire. entries() still lists it, for the
   * responses the runtime does not date (WebSocket handshakes).
   */
  runtimeDate?: boolean;
  /**
   * What the runtime's fetch() decodes: a fetch() result it decoded loses its Content-Encoding and
   * Content-Length when copied here (fetch-decoding.ts). Node drops them where no copy is made
   * (node-response-framing.ts); Deno.serve drops them itself from a Response it is given as is.
   */
  fetchDecoding?: FetchDecoding | null;
}

export interface DefaultHeaders {
  /** Adds the defaults the response lacks; returns it, or a copy when its headers are immutable. */
  apply(response: Response): Response;
  /** The current defaults in order (the date of this second), for adapters that write raw headers themselves. */
  entries(): readonly (readonly [string, string])[];
}

/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`): what Date#toUTCString gives by the spec since ES2018. */
export function httpDate(nowMs: number): string {
  return new Date(nowMs).toUTCString();
}

export function createDefaultHeaders(
  options: DefaultHeadersOptions,
  /** Epoch ms: Date.now, or a test's clock. */
  clock: () => number = Date.now,
): DefaultHeaders {
  const custom = options.headers.map(([name, value]) => [name.toLowerCase(), value] as const);
  // Validate once (a newline in a value would make every request throw), with the flag's name.
  try {
    new Headers(custom as [string, string][]);
  } catch (error) {
    throw new UsageError(`Invalid value for '--header': ${errorMessage(error)}`);
  }
  const customNames = new Set(custom.map(([name]) => name));
  const fetchDecoding = options.fetchDecoding ?? null;
  const useDate = options.dateHeader && !customNames.has("date");

  const startMs = clock();
  const list: [string, string][] = [];
  if (useDate) list.push(["date", httpDate(startMs)]);
  if (options.serverHeader && !customNames.has("server")) list.push(["server", "tsuv"]);
  for (const [name, value] of custom) list.push([name, value]);

  // Grouped by name for the hot loop: a name given twice (`--header x:1 --header x:2`) is appended
  // twice, and only when the app set neither.
  const groupNames: string[] = [];
  const groupValues: string[][] = [];
  for (const [name, value] of list) {
    const at = groupNames.indexOf(name);
    if (at === -1) {
      groupNames.push(name);
      groupValues.push([value]);
    } else (groupValues[at] as string[]).push(value);
  }
  const count = groupNames.length;
  // The date is always first, alone in its group: skipping it is starting at 1.
  const first = useDate && options.runtimeDate ? 1 : 0;
  // apply() writes the date: check the clock there. Otherwise only entries() gives it out.
  const appliesDate = useDate && first === 0;
  // The second the date string names: [secondStart, secondStart + 1000).
  let secondStart = startMs - (startMs % 1000);

  /** The date of the current second, formatted if the second changed (or the clock went back). */
  function refreshDate(): void {
    const now = clock();
    if (now - secondStart < 1000 && now >= secondStart) return;
    secondStart = now - (now % 1000);
    const date = httpDate(secondStart);
    // The date is always first, alone in its group.
    (groupValues[0] as string[])[0] = date;
    (list[0] as [string, string])[1] = date;
  }

  function addMissing(headers: Headers): void {
    for (let i = first; i < count; i++) {
      const name = groupNames[i] as string;
      if (headers.has(name)) continue;
      const group = groupValues[i] as string[];
      if (group.length === 1) headers.set(name, group[0] as string);
      else for (const value of group) headers.append(name, value);
    }
  }

  /**
   * A response whose headers cannot change (Response.redirect, fetch() on Node and Deno): copy it,
   * without what a fetch() result's headers say of its upstream (fetch-decoding.ts).
   */
  function rebuild(response: Response): Response {
    // Response.error() (status 0) cannot be reconstructed; the server turns it into a 500 anyway.
    if (response.type === "error") return response;
    try {
      const headers = new Headers(response.headers);
      dropUpstreamHeaders(response, headers, fetchDecoding);
      addMissing(headers);
      return newResponse(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    } catch {
      return response;
    }
  }

  return {
    apply(response: Response): Response {
      if (count === first) return response;
      if (appliesDate) refreshDate();
      // A response that takes the defaults itself and writes them with its own headers (Node's
      // FastResponse, src/runtime/node-response.ts): no Headers object is built for it.
      const take = (response as unknown as Record<symbol, unknown>)[ADD_DEFAULT_HEADERS];
      if (typeof take === "function" && take.call(response, list) === true) return response;
      // A fetch() result ("basic", "cors"...) is immutable on Node and Deno: copy it without paying
      // for a throw (~5 us on Deno) on every request of an app that proxies. The getter costs 2-14 ns.
      if (response.type !== "default") return rebuild(response);
      // try/catch costs nothing while nothing throws; only immutable responses pay for the throw.
      // Response#type cannot tell those apart: Response.redirect() is type "default" and immutable.
      try {
        addMissing(response.headers);
        return response;
      } catch {
        return rebuild(response);
      }
    },
    entries() {
      if (useDate) refreshDate();
      return list;
    },
  };
}
