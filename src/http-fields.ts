/**
 * What HTTP allows in a header field (RFC 9110 5.1, 5.5): the one rule for `--header` (config.ts),
 * tsuv's Headers on Node (runtime/node-headers.ts), cookie names (request-cookies.ts) and the values
 * Deno's server cannot send (runtime/deno-header-values.ts).
 */

/** A header name (and a cookie name): an RFC 9110 token. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Does a header value hold what RFC 9110 does not allow in a field value: a control character but
 * HTAB, or DEL? (Node's server refuses to write such a value, Deno 2.9's panics.) A loop over the
 * char codes: it runs for every response on Deno, and a regular expression's test cost ~300
 * instructions a value more.
 */
export function invalidFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}
