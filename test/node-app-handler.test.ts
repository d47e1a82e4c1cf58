// src/node-app-handler.ts with fake node:http objects: when a --limit-concurrency slot comes back.
// (Real servers on every runtime: test/node-app.test.ts.)
import { expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { resolveConfig } from "../src/config.ts";
import { loggerFromConfig } from "../src/logging.ts";
import { createNodeAppHandler } from "../src/node-app-handler.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";

class FakeResponse extends EventEmitter {
  statusCode = 200;
  sendDate = true;
  headersSent = false;
  writableEnded = false;
  socket: object | null = {};
  readonly headers = new Map<string, unknown>();
  setHeader(name: string, value: unknown): void {
    this.headers.set(name, value);
  }
  write(): void {
    this.headersSent = true;
  }
  /** Ends the response; its 'finish' and 'close' come when the test says (see done()). */
  end(): void {
    this.headersSent = true;
    this.writableEnded = true;
  }
  destroy(): void {}
  done(): void {
    this.emit("finish");
    this.emit("close");
  }
}

function handlerWith(app: (req: unknown, res: FakeResponse) => void, ...args: string[]) {
  const config = resolveConfig(["main:app", "--no-access-log", ...args], {}, { runtime: fakeRuntime() });
  const logger = loggerFromConfig(
    { logLevel: "critical", logFormat: "text", accessLog: false, useColors: false },
    { stdout: () => {}, stderr: () => {}, isTTY: false, noColor: true },
  );
  const { listener, state } = createNodeAppHandler(config, app, logger, () => {});
  const request = (res: FakeResponse) => {
    listener({ method: "GET", url: "/", headers: {}, socket: new EventEmitter() }, res);
    return res;
  };
  return { request, active: () => state.concurrency?.active };
}

test("a response the app ended gives its slot back at the limit, before its 'finish' comes", () => {
  const { request, active } = handlerWith((_req, res) => res.end(), "--limit-concurrency", "1");
  const first = request(new FakeResponse());
  expect(first.writableEnded).toBe(true);
  expect(active()).toBe(1); // no 'finish' yet (Deno's node:http emits it late)
  const second = request(new FakeResponse());
  expect(second.statusCode).toBe(200);
  first.done(); // late: must not give back a slot twice
  expect(active()).toBe(1);
  second.done();
  expect(active()).toBe(0);
});

test("a response still being written keeps its slot: the next request gets uvicorn's 503", () => {
  const { request, active } = handlerWith((_req, res) => res.write(), "--limit-concurrency", "1");
  const streaming = request(new FakeResponse());
  const refused = request(new FakeResponse());
  expect(refused.statusCode).toBe(503);
  expect(refused.headers.get("connection")).toBe("close");
  expect(active()).toBe(1);
  refused.done();
  expect(active()).toBe(1);
  streaming.done();
  expect(active()).toBe(0);
});
