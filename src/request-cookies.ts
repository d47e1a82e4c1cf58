/**
 * `request.cookies` in a Bun.serve route handler (bun-routes.ts), on every runtime (tsuv matches the
 * routes itself, on Bun too): the request's cookies, readable and changeable as Bun's CookieMap, whose
 * changes go out as Set-Cookie headers on the route's answer, as Bun writes them. What Bun 1.4.5
 * does, and this does too (test/bun-routes.test.ts compares it with Bun's own CookieMap over
 * generated cases, and the headers with Bun.serve's):
 * - read from the Cookie header, values percent-decoded (a bad escape as U+FFFD), a pair without `=`
 *   left out, a name given twice counted twice (get() gives the first);
 * - set(name, value, options) or set({ name, value, ...options }): `name=value` with the value
 *   percent-encoded (String(value): `undefined` is "undefined"; the object form without a value is
 *   ""), then Domain, Path (`/` by default, none when ""), Expires, Max-Age, Secure, HttpOnly,
 *   Partitioned and SameSite (`Lax` by default), in that order. Refused with Bun's TypeError: a name
 *   with a control character, a space, `;`, `=` or anything past ASCII; a domain of anything but
 *   a-z, 0-9, `.` and `-`; a path with a control character, `;`, `<` or anything past ASCII; a
 *   sameSite but strict, lax or none. Expires: a Date, seconds since the epoch (a number), or a date
 *   in words (see cookieDate()); Max-Age: a number as JavaScript writes it (a NaN or a non-number
 *   writes none);
 * - delete(name) or delete({ name, domain, path }): the cookie expired (`name=; ...; Expires=Thu, 01
 *   Jan 1970 00:00:00 GMT`), Secure for a `__Secure-` or `__Host-` name, checked as set() checks;
 * - a change moves its cookie last: in the listing and in the Set-Cookie lines; a cookie set to ""
 *   is no longer listed (its line still goes out).
 * Listed (iteration, toJSON) as Bun lists them: what set() gave, then what was sent. Bun's CookieMap
 * has more (its Cookie class); an app that needs it reads the Cookie header itself.
 */
import { newResponse } from "./native-response.ts";
import { percentDecode } from "./percent-decode.ts";

export interface CookieOptions {
  domain?: string;
  path?: string;
  expires?: Date | number | string;
  maxAge?: number;
  secure?: boolean;
  httpOnly?: boolean;
  partitioned?: boolean;
  sameSite?: "strict" | "lax" | "none";
}

interface CookieInit extends CookieOptions {
  name: string;
  value?: unknown;
}

const EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT";
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters Bun refuses in a name.
const BAD_NAME = /[\x00-\x20;=\x7f-\uffff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters Bun refuses in a path.
const BAD_PATH = /[\x00-\x1f;<\x7f-\uffff]/;
const DOMAIN = /^[a-z0-9.-]*$/;
const SAME_SITE = new Set(["strict", "lax", "none"]);

function checkName(name: string): void {
  if (name === "" || BAD_NAME.test(name))
    throw new TypeError("Invalid cookie name: contains invalid characters");
}

/**
 * A date in words as Bun reads one: JavaScriptCore's older parser, so what Date.parse reads but ISO
 * 8601 (`2030-01-01`), a lone number, or a date without its day (`Oct 2030`); and a result of 0 (the
 * epoch itself) counts as a failure there.
 */
function cookieDate(text: string): number {
  const numbers = text.match(/\d+/g)?.length ?? 0;
  const time = /^\s*[+-]?\d{4,}-/.test(text) || numbers < 2 ? Number.NaN : Date.parse(text);
  if (Number.isNaN(time) || time === 0) throw new TypeError("Invalid cookie expiration date");
  return time;
}

function expiresAt(expires: unknown): string {
  let time: number;
  if (expires instanceof Date) {
    time = expires.getTime();
    if (Number.isNaN(time)) throw new RangeError("expires must be a valid Date (or Number)");
  } else if (typeof expires === "number") {
    if (!Number.isFinite(expires)) throw new RangeError("expires must be a valid Number (or Date)");
    time = Math.floor(expires) * 1000;
  } else if (typeof expires === "string") {
    time = cookieDate(expires);
  } else {
    throw new TypeError(
      `The argument 'expires' Invalid expires value. Must be a Date or a number. Received ${JSON.stringify(expires)}`,
    );
  }
  return new Date(time).toUTCString();
}

/**
 * One Set-Cookie line, its attributes in the order Bun writes them. Throws where Bun does, and for
 * the first thing Bun checks: expires, sameSite, the name, the path, the domain.
 */
function serialize(name: string, value: string, options: CookieOptions & { expired?: true }): string {
  const expires = options.expired
    ? EPOCH
    : options.expires === undefined || options.expires === null
      ? undefined
      : expiresAt(options.expires);
  const sameSite = options.sameSite ?? "lax";
  if (!SAME_SITE.has(sameSite))
    throw new TypeError("Invalid sameSite value. Must be 'strict', 'lax', or 'none'");
  checkName(name);
  const path = options.path === undefined || options.path === null ? "/" : String(options.path);
  if (BAD_PATH.test(path)) throw new TypeError("Invalid cookie path: contains invalid characters");
  const domain = options.domain === undefined || options.domain === null ? "" : String(options.domain);
  if (!DOMAIN.test(domain)) throw new TypeError("Invalid cookie domain: contains invalid characters");
  const parts = [`${name}=${encodeURIComponent(value)}`];
  if (domain !== "") parts.push(`Domain=${domain}`);
  if (path !== "") parts.push(`Path=${path}`);
  if (expires !== undefined) parts.push(`Expires=${expires}`);
  if (typeof options.maxAge === "number" && !Number.isNaN(options.maxAge))
    parts.push(`Max-Age=${options.maxAge}`);
  if (options.secure || (options.expired && /^__(secure|host)-/i.test(name))) parts.push("Secure");
  if (options.httpOnly) parts.push("HttpOnly");
  if (options.partitioned) parts.push("Partitioned");
  parts.push(`SameSite=${sameSite.charAt(0).toUpperCase()}${sameSite.slice(1)}`);
  return parts.join("; ");
}

export class RequestCookies {
  /** Where the Cookie header is read from, at the first use: a route that never asks pays nothing. */
  #request: { readonly headers: Headers } | undefined;
  /** The request's cookies as sent, a name given twice listed twice, less what set() and delete() changed. */
  #sentList: [string, string][] | undefined;
  /** What set() gave, the latest change last: listed before what was sent, as Bun lists them. */
  #set: Map<string, string> | undefined;
  /** The Set-Cookie headers of the changes, by name, the latest last (a name's next change replaces its). */
  #changes: Map<string, string> | undefined;

  constructor(request: { readonly headers: Headers }) {
    this.#request = request;
  }

  get #sent(): [string, string][] {
    if (this.#request !== undefined) {
      const header = this.#request.headers.get("cookie");
      this.#request = undefined;
      const list: [string, string][] = [];
      this.#sentList = list;
      for (const part of header?.split(";") ?? []) {
        const equals = part.indexOf("=");
        if (equals === -1) continue;
        const name = part.slice(0, equals).trim();
        if (name !== "") list.push([name, percentDecode(part.slice(equals + 1).trim())]);
      }
    }
    return this.#sentList ?? [];
  }

  set #sent(list: [string, string][]) {
    this.#sentList = list;
  }

  /** Did set() or delete() change anything (so the answer needs Set-Cookie lines)? */
  static changed(cookies: RequestCookies): boolean {
    return cookies.#changes !== undefined;
  }

  #pairs(): [string, string][] {
    return [...(this.#set ?? []), ...this.#sent];
  }

  get size(): number {
    return (this.#set?.size ?? 0) + this.#sent.length;
  }

  get(name: string): string | null {
    return this.#set?.get(name) ?? this.#sent.find(([key]) => key === name)?.[1] ?? null;
  }

  has(name: string): boolean {
    return this.#set?.has(name) === true || this.#sent.some(([key]) => key === name);
  }

  set(nameOrInit: string | CookieInit, ...rest: [value?: unknown, options?: CookieOptions | null]): void {
    let name: string;
    let value: string;
    let options: CookieOptions;
    if (typeof nameOrInit === "object" && nameOrInit !== null) {
      if (nameOrInit.name === undefined || nameOrInit.name === null || nameOrInit.name === "") {
        throw new TypeError("name is required");
      }
      name = String(nameOrInit.name);
      value = "value" in nameOrInit ? String(nameOrInit.value) : "";
      options = nameOrInit;
    } else {
      if (rest.length === 0) throw new TypeError("Not enough arguments");
      name = String(nameOrInit);
      value = String(rest[0]);
      options = rest[1] ?? {};
    }
    const line = serialize(name, value, options);
    this.#sent = this.#sent.filter(([key]) => key !== name);
    this.#set ??= new Map();
    this.#set.delete(name);
    // An empty value is sent (`name=`), but Bun no longer lists the cookie: get() gives null.
    if (value !== "") this.#set.set(name, value);
    this.#change(name, line);
  }

  delete(nameOrOptions: string | { name: string; domain?: string; path?: string }): void {
    const target = typeof nameOrOptions === "string" ? { name: nameOrOptions } : nameOrOptions;
    if (typeof target?.name !== "string") throw new TypeError("Cookie name is required");
    const name = target.name;
    // Bun forgets the cookie, and a change of it not yet sent, before it checks the name and options.
    this.#sent = this.#sent.filter(([key]) => key !== name);
    this.#set?.delete(name);
    this.#changes?.delete(name);
    this.#change(name, serialize(name, "", { domain: target.domain, path: target.path, expired: true }));
  }

  /** Made at the first change: most requests change nothing, and pay no Map for it. */
  #change(name: string, setCookie: string): void {
    this.#changes ??= new Map();
    this.#changes.delete(name); // a change moves its line last, as Bun orders them
    this.#changes.set(name, setCookie);
  }

  toSetCookieHeaders(): string[] {
    return [...(this.#changes?.values() ?? [])];
  }

  toJSON(): Record<string, string> {
    const json: Record<string, string> = {};
    for (const [name, value] of this.#pairs()) if (!Object.hasOwn(json, name)) json[name] = value;
    return json;
  }

  entries(): IterableIterator<[string, string]> {
    return this.#pairs()[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    return this.#pairs()
      .map(([name]) => name)
      [Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return this.#pairs()
      .map(([, value]) => value)
      [Symbol.iterator]();
  }

  forEach(callback: (value: string, name: string, map: RequestCookies) => void): void {
    for (const [name, value] of this.#pairs()) callback(value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * `response` with the cookie changes as Set-Cookie headers after its own; a copy where its headers
 * cannot change (Response.redirect()).
 */
export function withSetCookies(response: Response, cookies: RequestCookies): Response {
  if (!RequestCookies.changed(cookies) || typeof response?.headers?.append !== "function") return response;
  const headers = cookies.toSetCookieHeaders();
  try {
    for (const header of headers) response.headers.append("set-cookie", header);
    return response;
  } catch {
    const copy = newResponse(response.body, response);
    for (const header of headers) copy.headers.append("set-cookie", header);
    return copy;
  }
}
