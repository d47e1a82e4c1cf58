import { expect, test } from "bun:test";
import { bindError, retryPortZero } from "../src/runtime/bind-error.ts";

const inUse = () => Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" });

/** A bind that fails with `errors` in turn, then answers with the attempt's number. */
function binds(errors: Error[]) {
  let attempts = 0;
  const bind = async () => {
    const error = errors[attempts++];
    if (error) throw error;
    return attempts;
  };
  return { bind, attempts: () => attempts };
}

test("retryPortZero: port 0 takes another of the kernel's picks after EADDRINUSE, up to 3 tries", async () => {
  const twice = binds([inUse(), inUse()]);
  expect(await retryPortZero(0, twice.bind)).toBe(3);
  const always = binds([inUse(), inUse(), inUse(), inUse()]);
  await expect(retryPortZero(0, always.bind)).rejects.toThrow("EADDRINUSE");
  expect(always.attempts()).toBe(3);
});

test("retryPortZero: a fixed port, or any other error, is tried once", async () => {
  const fixed = binds([inUse()]);
  await expect(retryPortZero(8000, fixed.bind)).rejects.toThrow("EADDRINUSE");
  expect(fixed.attempts()).toBe(1);
  const denied = binds([Object.assign(new Error("bind EACCES"), { code: "EACCES" })]);
  await expect(retryPortZero(0, denied.bind)).rejects.toThrow("EACCES");
  expect(denied.attempts()).toBe(1);
  // And what the caller then says, in uvicorn's words.
  expect(bindError(inUse(), "127.0.0.1", 8000, "linux").message).toBe(
    "[Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use",
  );
});
