/**
 * Time, injected: supervisors read `now()` and `sleep()` from a Clock so tests drive them with a
 * virtual clock (no real waiting, no timing-sensitive assertions). Milliseconds, monotonic.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
};
