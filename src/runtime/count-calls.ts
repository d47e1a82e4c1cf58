/**
 * RuntimeAdapter.watchListenCalls' one mechanism: a method wrapped to count its calls until the
 * returned function puts the original back and gives the count. Net.Server.prototype.listen and
 * Bun.serve are writable values (Bun's not configurable), so they are assigned; Deno.serve is an
 * accessor on the Deno namespace, so it is redefined and its descriptor restored after.
 */
export function countCalls(owner: object, key: string): () => number {
  const slot = owner as Record<string, unknown>;
  const original = slot[key];
  const descriptor = Object.getOwnPropertyDescriptor(owner, key);
  if (typeof original !== "function") return () => 0;
  let calls = 0;
  const counting = function (this: unknown, ...args: unknown[]) {
    calls++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  if (descriptor === undefined || descriptor.writable === true) {
    slot[key] = counting;
    return () => {
      slot[key] = original;
      return calls;
    };
  }
  if (!descriptor.configurable) return () => 0;
  const { enumerable } = descriptor;
  Object.defineProperty(owner, key, { value: counting, writable: true, configurable: true, enumerable });
  return () => {
    Object.defineProperty(owner, key, descriptor);
    return calls;
  };
}
