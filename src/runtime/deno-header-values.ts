/**
 * Deno 2.9's own HTTP/1.1 writer (libs/http_h1/write.rs, Deno.serve's path since denoland/deno#34446)
 * asserts that every response header value is a valid HTTP field value, and a failed assert is a
 * panic: the whole process ends, every thread worker and the supervisor with it (exit 1). A
 * Response's Headers let such values through (the fetch spec forbids only NUL, CR and LF), so an app
 * that puts a control character in a header (a decoded query parameter in `location`, a filename in
 * `content-disposition`) crashed tsuv on Deno with its first such request: checked on Deno 2.9.6
 * for 0x01, 0x0B, 0x1F and 0x7F (a tab and 0x80-0xFF are sent). Node's server refuses to write the
 * same value (ERR_INVALID_CHAR: tsuv answers 500 and logs it); Bun.serve sends it as is.
 *
 * So on Deno each response's header values are checked before Deno.serve gets it
 * (RuntimeAdapter.unsendableResponse). Through the public API that costs 1.5-5 us a response
 * (Headers' iterator sorts and copies), as much as a tenth to a third of a plaintext request: the
 * check reads the Response's header list where Deno keeps it, as an array of [name, value] pairs
 * behind the Response's internal `Symbol(response)`, found once by its description. Where a Deno
 * keeps it elsewhere, the public iterator is used (test/runtime-deno.test.ts says which one this
 * Deno takes). Measured 2026-12-07 on Deno 2.9.6: 5-50 ns a response in a loop (a Response with no
 * header of its own, then one with tsuv's `server` set); with callgrind
 * (`bun scripts/bench/callgrind.ts --requests 3000 --warmup 8000`, bench/apps/hello.ts plaintext,
 * against the tree before), +90 instructions a request with `--no-server-header --no-proxy-headers`
 * (14.0k to 14.1k) and +1,000 with the defaults (38.5k to 39.5k), whose `server` header makes Deno
 * list the content type too.
 */
import { invalidFieldValue } from "../http-fields.ts";

type HeaderList = readonly (readonly [string, string])[];

/** The internal slot of Deno's Response that holds its inner response ({ headerList, ... }). */
function findInnerResponseSlot(): symbol | null {
  const probe = new Response("", { headers: { "x-probe": "1" } });
  for (const slot of Object.getOwnPropertySymbols(probe)) {
    if (slot.description !== "response") continue;
    const list = (probe as unknown as Record<symbol, { headerList?: unknown }>)[slot]?.headerList;
    if (Array.isArray(list) && list.some((entry) => Array.isArray(entry) && entry[0] === "x-probe"))
      return slot;
  }
  return null;
}

/** That slot: undefined until looked for (at the first check), null where this Deno has none. */
let found: symbol | null | undefined;

function innerResponseSlot(): symbol | null {
  if (found === undefined) found = findInnerResponseSlot();
  return found;
}

/** Deno's own header list of a Response, or (where this Deno keeps it elsewhere) a public copy. */
function headerListOf(response: Response): HeaderList {
  const slot = innerResponseSlot();
  const inner =
    slot === null
      ? undefined
      : (response as unknown as Record<symbol, { headerList: HeaderList } | undefined>)[slot];
  return inner?.headerList ?? [...response.headers];
}

/** How this Deno's header lists are read (for the test that pins it to the fast way). */
export function headerListVia(): "header list" | "iterator" {
  return innerResponseSlot() === null ? "iterator" : "header list";
}

/** The first header whose value Deno's server cannot send, as a sentence; undefined if none. */
export function unsendableHeaderValue(response: Response): string | undefined {
  const list = headerListOf(response);
  // Indexed, not for-of with destructuring: this runs for every response (see the header).
  for (let i = 0; i < list.length; i++) {
    const entry = list[i] as readonly [string, string];
    const value = entry[1];
    if (invalidFieldValue(value)) {
      const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
      return `The app's response header ${JSON.stringify(entry[0].toLowerCase())} has a control character in its value (${shown}), which Deno's server cannot send (Deno 2.9 ends the process on it): answered 500 instead.`;
    }
  }
  return undefined;
}
