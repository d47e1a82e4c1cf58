/**
 * Lazy stand-ins for undici's Request, Response and Headers on Node.js.
 *
 * On Node 20 a `new Response("x")` costs about as much as a whole raw node:http request (undici builds
 * a ReadableStream for every body), so tsuv's Node adapter hands the app cheap objects that read the
 * node:http request directly and build the real undici object only when the app touches something
 * the stand-in does not implement itself. The same technique as srvx's Node adapter (h3js/srvx).
 *
 * `delegateMissing` is the piece that makes a stand-in a complete Request/Response: every property
 * of the native prototype that the stand-in does not define is defined to forward to the native
 * object that `this[nativeKey]` builds on first use.
 */

import { Readable } from "node:stream";

/**
 * A body stream that can no longer be sent or read from its start: locked to a reader, or read
 * from already (Node's own test: web streams have no public "disturbed").
 */
export function streamUsedOrLocked(stream: ReadableStream): boolean {
  return stream.locked || Readable.isDisturbed(stream as never);
}

/**
 * For each accessor and method of `native` missing from `target`, define one on `target` that
 * forwards to `this[nativeKey]`. Data properties (Symbol.toStringTag) are left to the prototype chain.
 */
export function delegateMissing(target: object, native: object, nativeKey: string): void {
  const keys: (string | symbol)[] = [
    ...Object.getOwnPropertyNames(native),
    ...Object.getOwnPropertySymbols(native),
  ];
  for (const key of keys) {
    if (key === "constructor") continue;
    const own = Object.getOwnPropertyDescriptor(target, key);
    const desc = Object.getOwnPropertyDescriptor(native, key);
    if (!desc) continue;
    let changed = false;
    if (desc.get) {
      changed = true;
      desc.get =
        own?.get ??
        function (this: Record<string, Record<string | symbol, unknown>>) {
          return (this[nativeKey] as Record<string | symbol, unknown>)[key];
        };
    }
    if (desc.set) {
      changed = true;
      desc.set =
        own?.set ??
        function (this: Record<string, Record<string | symbol, unknown>>, value: unknown) {
          (this[nativeKey] as Record<string | symbol, unknown>)[key] = value;
        };
    }
    if (!own?.value && typeof desc.value === "function") {
      changed = true;
      desc.value = function (
        this: Record<string, Record<string | symbol, (...args: unknown[]) => unknown>>,
        ...args: unknown[]
      ) {
        return (this[nativeKey] as Record<string | symbol, (...args: unknown[]) => unknown>)[key]?.(...args);
      };
    }
    if (changed) Object.defineProperty(target, key, desc);
  }
}

/**
 * The original class behind a global that may already be a stand-in (ours, or srvx's if the app
 * loaded it): the first ancestor whose prototype chain ends in Function.prototype.
 */
export function nativeClass<T extends abstract new (...args: never[]) => unknown>(
  registryKey: symbol,
  current: T,
): T {
  const registry = globalThis as unknown as Record<symbol, T | undefined>;
  const known = registry[registryKey];
  if (known) return known;
  let cls: T = current;
  let parent = Object.getPrototypeOf(cls) as T | null;
  while (typeof parent === "function" && parent.prototype) {
    cls = parent;
    parent = Object.getPrototypeOf(cls) as T | null;
  }
  registry[registryKey] = cls;
  return cls;
}
