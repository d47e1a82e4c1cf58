/**
 * `request.cookies` in a Bun.serve route handler (bun-routes.ts), on every runtime: the request's
 * cookies, readable and changeable as Bun's CookieMap, whose changes go out as Set-Cookie headers on
 * the route's answer, as Bun writes them. What Bun 1.4.5 does, and this does too (test/bun-routes.test.ts
 * compares the headers with Bun.serve's own):
 * - read from the Cookie header, values percent-decoded (a bad escape as U+FFFD), a pair without `=`
 *   left out, a name given twice counted twice (get() gives the first);
 * - set(name, value, options) or set({ name, value, ...options }): `name=value` with the value
 *   percent-encoded, then Domain, Path (`/` by default), Expires, Max-Age, Secure, HttpOnly,
 *   Partitioned and SameSite (`Lax` by default), in that order;
 * - delete(name) or delete({ name, domain, path }): the cookie expired (`name=; ...; Expires=Thu, 01
 *   Jan 1970 00:00:00 GMT`).
 * Listed (iteration, toJSON) as Bun lists them: what set() gave, in the order first set, then what
 * was sent. Bun's CookieMap has more (its Cookie class); an app that needs it reads the Cookie header
 * itself.
 */
import { TOKEN } from "./http-fields.ts";
import { percentDecode } from "./percent-decode.ts";

export interface CookieOptions {
  domain?: string;
  path?: string;
  expires?: Date | number | string;
  maxAge?: number;
  secure?: boolean;
  httpOnly?: boolean;
  partitioned?: boolean;
  sameSite?: "strict" | "lax" | "none" | "Strict" | "Lax" | "None";
}

interface CookieInit extends CookieOptions {
  name: string;
  value: string;
}

const EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT";

/** One Set-Cookie line, its attributes in the order Bun writes them. */
function serialize(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`];
  if (options.domain) parts.push(`Domain=${options.domain}`);
  parts.push(`Path=${options.path ?? "/"}`);
  if (options.expires !== undefined) parts.push(`Expires=${new Date(options.expires).toUTCString()}`);
  if (options.maxAge !== undefined) parts.push(`Max-Age=${Math.trunc(options.maxAge)}`);
  if (options.secure) parts.push("Secure");
  if (options.httpOnly) parts.push("HttpOnly");
  if (options.partitioned) parts.push("Partitioned");
  const sameSite = (options.sameSite ?? "lax").toLowerCase();
  parts.push(`SameSite=${sameSite.charAt(0).toUpperCase()}${sameSite.slice(1)}`);
  return parts.join("; ");
}

export class RequestCookies {
  /** Where the Cookie header is read from, at the first use: a route that never asks pays nothing. */
  #request: { readonly headers: Headers } | undefined;
  /** The request's cookies as sent, a name given twice listed twice, less what set() and delete() changed. */
  #sentList: [string, string][] | undefined;
  /** What set() gave, in the order first set: listed before what was sent, as Bun lists them. */
  #set: Map<string, string> | undefined;
  /** The Set-Cookie headers of the changes, by name (a later change of a name replaces its header). */
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

  set(nameOrInit: string | CookieInit, value?: string, options: CookieOptions = {}): void {
    const init: CookieInit =
      typeof nameOrInit === "string" ? { ...options, name: nameOrInit, value: value ?? "" } : nameOrInit;
    // A cookie-name is an RFC 9110 token.
    if (!TOKEN.test(init.name)) throw new TypeError("Invalid cookie name: contains invalid characters");
    this.#sent = this.#sent.filter(([key]) => key !== init.name);
    this.#set ??= new Map();
    this.#set.set(init.name, String(init.value));
    this.#change(init.name, serialize(init.name, String(init.value), init));
  }

  delete(nameOrOptions: string | { name: string; domain?: string; path?: string }): void {
    const target = typeof nameOrOptions === "string" ? { name: nameOrOptions } : nameOrOptions;
    this.#sent = this.#sent.filter(([key]) => key !== target.name);
    this.#set?.delete(target.name);
    this.#change(target.name, serialize(target.name, "", { ...target, expires: EPOCH }));
  }

  /** Made at the first change: most requests change nothing, and pay no Map for it. */
  #change(name: string, setCookie: string): void {
    this.#changes ??= new Map();
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
    const copy = new Response(response.body, response);
    for (const header of headers) copy.headers.append("set-cookie", header);
    return copy;
  }
}
