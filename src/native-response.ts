/**
 * The runtime's Response class as tsuv found it before the app was imported, and the responses tsuv
 * makes itself made with it. An app may replace `globalThis.Response` as it loads: @hono/node-server's
 * serve() does (the create-hono Node template calls it at import), with a "lightweight" look-alike
 * whose prototype chain leads to the real class, so that `instanceof Response` holds, but whose
 * objects no runtime can send. Served as they were, every request failed: on Node a 500 (TypeError
 * "Cannot read private member #native"), on Bun an empty 204 ("Expected a Response object"), on
 * Deno none at all ("must be a Response constructed via the Response constructor in this realm",
 * and the 500 tsuv then made was such an object too: the request hung). Such answers are adopted as
 * the runtime's own (foreign-response.ts), and tsuv's own answers never use the replaced global.
 */

/**
 * The runtime's class, the prototypes of its Responses (the class's, and on Node undici's: fetch()'s
 * answers), and their `status` getters, which throw for an object the class did not make.
 */
interface Native {
  response: typeof Response;
  prototype: object;
  status: (() => unknown) | undefined;
  base: object;
  baseStatus: (() => unknown) | undefined;
}

/**
 * Taken by captureNativeResponse(), else on first use; not at import: reading globalThis.Response
 * loads undici on Node 24, which a supervisor parent never needs (node-bundle.test.ts).
 */
let native: Native | undefined;

/** A getter of `name` on `prototype` or up its chain. */
function getterOf(prototype: object | null, name: string): (() => unknown) | undefined {
  for (let proto = prototype; proto !== null; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

function take(baseClass?: { prototype: object }): Native {
  const response = globalThis.Response;
  const prototype = response.prototype;
  const base = baseClass?.prototype ?? prototype;
  return {
    response,
    prototype,
    status: getterOf(prototype, "status"),
    base,
    baseStatus: getterOf(base, "status"),
  };
}

function current(): Native {
  if (native === undefined) native = take();
  return native;
}

/**
 * Take `globalThis.Response` as the runtime's: before the app is imported (app.ts), and again on
 * Node once tsuv's own Response is installed (node-globals.ts), with undici's class, whose
 * Responses (fetch()'s) are the runtime's too.
 */
export function captureNativeResponse(base?: { prototype: object }): void {
  native = take(base);
}

/** Is `globalThis.Response` another class than the runtime's now? */
export function responseGlobalReplaced(): boolean {
  return globalThis.Response !== current().response;
}

/** A Response of the runtime's class, whatever `globalThis.Response` is now. */
export function newResponse(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit): Response {
  const { response } = current();
  return new response(body, init);
}

/** Does `status`, a class's getter, accept `value` (a brand check)? */
function branded(status: (() => unknown) | undefined, value: object): boolean {
  try {
    status?.call(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Is `value` one of the runtime's Responses (or of a subclass), not a look-alike that only shares
 * its prototype chain? The usual answer costs one prototype read; others ask the class's own
 * `status` getter, which throws for an object the class did not make (undici's and Deno's brand
 * checks, Bun's native binding, the private fields of tsuv's Response on Node).
 */
export function isNativeResponse(value: unknown): value is Response {
  if (typeof value !== "object" || value === null) return false;
  const { prototype, status, base, baseStatus } = current();
  const proto = Object.getPrototypeOf(value);
  if (proto === prototype || proto === base) return true;
  if (Object.prototype.isPrototypeOf.call(prototype, value)) return branded(status, value);
  return Object.prototype.isPrototypeOf.call(base, value) && branded(baseStatus, value);
}
