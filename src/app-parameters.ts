/**
 * What a function's parameters say about the app it is, under --interface auto: a node:http listener
 * `(req, res)`, a connect-style middleware `(req, res, next)`, a fetch handler `(request, env, ctx)`,
 * a Fastify plugin `(fastify, opts)`. Read from the function's source (its parameter names), since
 * by arity alone each looks like another. Used by toLoadedApp (app-shapes.ts).
 */
export function looksLikeExpress(fn: { length: number } & Record<string, unknown>): boolean {
  return typeof fn.handle === "function" && typeof fn.use === "function";
}

/**
 * The head of a function's source up to its parameter list: `(req, res)`, `function listener(request,
 * response)`, a method `handle(req, res)`. What a class, native code (a bound function) or an
 * arrow with one bare parameter says does not match.
 */
const PARAMETER_LIST = /^(?:async\s*)?(?:function\b\s*\*?\s*)?[\w$]*\s*\(([^)]*)\)/;
const PLAIN_NAME = /^[\w$]+$/;

/**
 * `(...args) => { const [req, res, next, locals] = args; ...}`: all the parameters taken as a rest
 * and named by the body's first line (@astrojs/node's middleware handler, which also takes
 * connect's `(err, req, res, next)`): the rest's name, then the names after the body's opening.
 */
const REST_ONLY = /^\s*\.\.\.([\w$]+)\s*$/;
const REST_NAMED = /^\s*(?:=>\s*)?\{\s*(?:const|let|var)\s+\[([^\]]*)\]\s*=\s*([\w$]+)\s*[;\n]/;

/**
 * A function's parameter names as its source writes them, or null when they are not all plain names
 * (destructuring, defaults) or the source does not show them (native code, a class). A rest that the
 * body's first line destructures gives the names it is destructured into (REST_NAMED).
 */
function parameterNames(fn: (...args: unknown[]) => unknown): string[] | null {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return null;
  }
  const head = PARAMETER_LIST.exec(source);
  const list = head?.[1];
  if (head === null || list === undefined) return null;
  let names = list.split(",").map((name) => name.trim());
  const rest = REST_ONLY.exec(list)?.[1];
  if (rest !== undefined) {
    const named = REST_NAMED.exec(source.slice(head[0].length));
    if (named?.[2] !== rest) return null;
    names = (named[1] as string).split(",").map((name) => name.trim());
  }
  return names.every((name) => PLAIN_NAME.test(name)) ? names : null;
}

/** How many parameters the function's source names (a destructured rest's too), else its length. */
export function parameterCount(fn: (...args: unknown[]) => unknown): number {
  return parameterNames(fn)?.length ?? fn.length;
}

/**
 * A response object's names, for node:http's second parameter (Express's, Nitro's, Polka's), also
 * prefixed as adapters name it: srvx's toNodeHandler returns (nodeReq, nodeRes), @hono/node-server's
 * getRequestListener (incoming, outgoing); both were called as fetch handlers (500 on every request).
 */
const RESPONSE_NAME =
  /^_*(?:(?:node|server|http|raw)_?(?:res|resp|response)|res|resp|response|reply|outgoing)$/i;

/** A one-letter name (`e`, `_t`): what a bundler's minifier leaves, which says nothing. */
const isShortened = (name: string): boolean => name.replace(/^_+/, "").length < 2;

/** A connect-style middleware's continuation, its third parameter. */
const NEXT_NAME = /^_*(?:next|done|callback|cb)$/i;

/**
 * `(req, res) => res.end(...)`: a node:http request listener written as a plain function (React
 * Router's createRequestListener, Nitro's node-listener, a hand-written one). By arity alone it is
 * indistinguishable from a fetch handler `(request, info)`; its second parameter's name tells.
 */
export function looksLikeNodeListener(fn: (...args: unknown[]) => unknown): boolean {
  const names = parameterNames(fn);
  return names?.length === 2 && RESPONSE_NAME.test(names[1] as string);
}

/**
 * A connect-style middleware `(req, res, next)` (serve-static, an Express Router, SvelteKit's
 * handler) rather than a whole app: its third parameter is named as a continuation and it has no
 * listen() of its own (Express and connect apps, which end their chain themselves when next is
 * absent). By name, because a third parameter can be anything else: Polka 0.5's `handler(req, res,
 * info)` reads it as the parsed URL, and Polka 1.0's bound handler runs its chain in it.
 */
export function looksLikeMiddleware(
  fn: ((...args: unknown[]) => unknown) & Record<string, unknown>,
): boolean {
  if (typeof fn.listen === "function") return false;
  const third = parameterNames(fn)?.[2];
  return third !== undefined && NEXT_NAME.test(third);
}

/**
 * `(request, env, ctx)`: a fetch handler written as a Cloudflare Worker's fetch is (tsuv passes
 * the request's info and an execution context with waitUntil). Served as node by its arity alone,
 * every request was a 500 ('Invalid URL'). Only when every name is readable and none says node:
 * the second not a response, the third not a continuation, none minified to one letter (a bundled
 * `(e, t, n)` middleware stays node, as before).
 */
export function looksLikeFetchWithContext(fn: (...args: unknown[]) => unknown): boolean {
  const names = parameterNames(fn);
  if (names === null || names.length < 3 || names.some(isShortened)) return false;
  return !RESPONSE_NAME.test(names[1] as string) && !NEXT_NAME.test(names[2] as string);
}

/**
 * A second parameter that is not where a request's info goes: the Fetch API's RequestInit (`init`,
 * `requestInit`: Nitro 3's standard output, `{ fetch: nitroApp.fetch }` with `(input, init, context)`,
 * copies a request that comes with one) or React Router's context (`initialContext`, `loadContext`:
 * `createRequestHandler(build)` gives `(request, initialContext)`, and React Router 8 refuses any
 * context that is not its own RouterContextProvider, a 500 for every request).
 */
const NOT_INFO_NAME = /^_*(?:(?:request_?)?init|(?:initial|load)_?context)$/i;

/**
 * A fetch handler to call with the request alone, as srvx calls one, rather than with tsuv's
 * `(request, info, ctx)` as Deno.serve and Cloudflare call one: its second parameter is named for
 * something else (NOT_INFO_NAME). Its client is still `request.ip`, its waitUntil `request.waitUntil`.
 */
export function takesRequestAlone(fn: (...args: unknown[]) => unknown): boolean {
  const second = parameterNames(fn)?.[1];
  return second !== undefined && NOT_INFO_NAME.test(second);
}

/**
 * `export default async function (fastify, opts)`: fastify-cli's app template, a plugin that
 * fastify-cli registers on an instance it makes. Taken for a fetch handler, every request called
 * the plugin with a Request and failed; only the app's own Fastify can make the instance.
 */
export function looksLikeFastifyPlugin(fn: (...args: unknown[]) => unknown): boolean {
  const first = parameterNames(fn)?.[0];
  return first !== undefined && /^_*fastify$/i.test(first);
}

/**
 * `(e, t)`: two parameters a bundler renamed to single letters, which could be `(request, info)`
 * or `(req, res)` alike.
 */
export function hasMinifiedPair(fn: (...args: unknown[]) => unknown): boolean {
  if (fn.length !== 2) return false;
  const names = parameterNames(fn);
  return names?.length === 2 && names.every(isShortened);
}
