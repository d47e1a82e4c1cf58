import { describe, expect, test } from "bun:test";
import {
  ConcurrencyLimit,
  MaxRequests,
  maxRequestsMessage,
  serviceUnavailable,
} from "../../src/middleware/limits.ts";

describe("ConcurrencyLimit", () => {
  test("admits up to the limit, then refuses until a release", () => {
    const limit = new ConcurrencyLimit(2);
    expect(limit.acquire()).toBe(true);
    expect(limit.acquire()).toBe(true);
    expect(limit.acquire()).toBe(false);
    expect(limit.active).toBe(2);
    limit.release();
    expect(limit.acquire()).toBe(true);
    expect(limit.acquire()).toBe(false);
  });

  test("no limit: always admits, still counts", () => {
    const limit = new ConcurrencyLimit(undefined);
    for (let i = 0; i < 1000; i++) expect(limit.acquire()).toBe(true);
    expect(limit.active).toBe(1000);
  });

  test("an extra release never goes below zero", () => {
    const limit = new ConcurrencyLimit(1);
    limit.release();
    expect(limit.active).toBe(0);
    expect(limit.acquire()).toBe(true);
    expect(limit.acquire()).toBe(false);
  });
});

test("serviceUnavailable is uvicorn's 503", async () => {
  const response = serviceUnavailable();
  expect(response.status).toBe(503);
  expect(response.headers.get("connection")).toBe("close");
  expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  expect(await response.text()).toBe("Service Unavailable");
  expect(serviceUnavailable()).not.toBe(response);
});

describe("MaxRequests", () => {
  test("true once the limit is reached, and after", () => {
    const max = new MaxRequests(3);
    expect(max.limit).toBe(3);
    expect([max.count(), max.count(), max.count(), max.count()]).toEqual([false, false, true, true]);
    expect(max.served).toBe(4);
  });

  test("no limit: never", () => {
    const max = new MaxRequests(undefined, 10);
    expect(max.limit).toBeUndefined();
    for (let i = 0; i < 1000; i++) expect(max.count()).toBe(false);
  });

  test("jitter adds 0..N, drawn once", () => {
    expect(new MaxRequests(100, 10, () => 0).limit).toBe(100);
    expect(new MaxRequests(100, 10, () => 0.5).limit).toBe(105);
    expect(new MaxRequests(100, 10, () => 0.999999).limit).toBe(110);
    expect(new MaxRequests(100, 10, () => 1).limit).toBe(110);
    let draws = 0;
    const max = new MaxRequests(2, 5, () => {
      draws++;
      return 0;
    });
    max.count();
    max.count();
    expect(draws).toBe(1);
  });

  test("real jitter stays in range", () => {
    for (let i = 0; i < 200; i++) {
      const limit = new MaxRequests(10, 3).limit as number;
      expect(limit).toBeGreaterThanOrEqual(10);
      expect(limit).toBeLessThanOrEqual(13);
    }
  });

  test("uvicorn's message", () => {
    expect(maxRequestsMessage(5)).toBe("Maximum request limit of 5 exceeded. Terminating process.");
  });
});
