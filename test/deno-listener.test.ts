/**
 * DenoListener's rebinding, with fake Deno servers (the real failure, a burst past the open-file
 * limit, is test/faults/open-files.fault.ts): when a listener's `finished` rejects it reports and
 * binds the same address again (port 0 resolved), retries a bind that fails, and stops rebinding
 * once the server is closing.
 */
import { expect, test } from "bun:test";
import type { ListenTarget } from "../src/runtime/adapter.ts";
import { type DenoHttpServer, DenoListener, RELISTEN_DELAY_MS } from "../src/runtime/deno-listener.ts";

interface FakeServer extends DenoHttpServer {
  fail(error: unknown): void;
  shutdowns: number;
}

function fakeServer(port: number): FakeServer {
  let reject: (error: unknown) => void = () => {};
  const finished = new Promise<void>((_, fail) => {
    reject = fail;
  });
  const server: FakeServer = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port },
    finished,
    shutdowns: 0,
    fail: (error) => reject(error),
    shutdown: async () => {
      server.shutdowns++;
    },
  };
  return server;
}

/** A bind that records its targets and hands out fake servers, or throws the queued errors first. */
function fakeBind(boundPort: number) {
  const targets: ListenTarget[] = [];
  const servers: FakeServer[] = [];
  const bindErrors: unknown[] = [];
  const bind = (target: ListenTarget) => {
    targets.push(target);
    const error = bindErrors.shift();
    if (error !== undefined) throw error;
    const server = fakeServer(boundPort);
    servers.push(server);
    return server;
  };
  return { bind, targets, servers, bindErrors };
}

const TARGET: ListenTarget = { kind: "tcp", host: "127.0.0.1", port: 0, reusePort: false };
const emfile = new Error("Too many open files (os error 24)");
const afterRetry = () => Bun.sleep(RELISTEN_DELAY_MS + 200);

test("a listener whose accept loop dies is reported and bound again on the port it had", async () => {
  const fake = fakeBind(41234);
  const events: string[] = [];
  const listener = new DenoListener(TARGET, fake.bind, {
    onListenerLost: (error, retryMs, stage) =>
      events.push(`lost ${stage} ${retryMs} ${(error as Error).message}`),
    onListenerRestored: () => events.push("restored"),
  });
  fake.servers[0]?.fail(emfile);
  await Bun.sleep(10);
  expect(events).toEqual([`lost accept ${RELISTEN_DELAY_MS} Too many open files (os error 24)`]);
  expect(fake.targets).toHaveLength(1);
  await afterRetry();
  expect(events.at(-1)).toBe("restored");
  expect(fake.targets[1]).toEqual({ ...TARGET, port: 41234 });
  // The new listener is the one shut down.
  await listener.shutdown();
  expect(fake.servers[1]?.shutdowns).toBe(1);
  expect(fake.servers[0]?.shutdowns).toBe(0);
});

test("a bind that fails is reported and tried again", async () => {
  const fake = fakeBind(41235);
  const stages: string[] = [];
  const listener = new DenoListener(TARGET, fake.bind, {
    onListenerLost: (_error, _retryMs, stage) => stages.push(stage),
    onListenerRestored: () => stages.push("restored"),
  });
  fake.bindErrors.push(emfile);
  fake.servers[0]?.fail(emfile);
  await afterRetry();
  expect(stages).toEqual(["accept", "bind"]);
  await afterRetry();
  expect(stages).toEqual(["accept", "bind", "restored"]);
  expect(fake.targets).toHaveLength(3);
  await listener.shutdown();
});

test("once the server is closing, a failed listener is not bound again", async () => {
  const fake = fakeBind(41236);
  const stages: string[] = [];
  const listener = new DenoListener(TARGET, fake.bind, {
    onListenerLost: (_e, _r, stage) => stages.push(stage),
  });
  fake.servers[0]?.fail(emfile);
  await Bun.sleep(10);
  listener.stopRebinding();
  await afterRetry();
  expect(stages).toEqual(["accept"]);
  expect(fake.targets).toHaveLength(1);
  // finished settles (it does not reject) for the close path to wait on.
  await listener.finished;
});

test("a listener that ends after shutdown() began is not reported", async () => {
  const fake = fakeBind(41237);
  const stages: string[] = [];
  const listener = new DenoListener(TARGET, fake.bind, {
    onListenerLost: (_e, _r, stage) => stages.push(stage),
  });
  await listener.shutdown();
  fake.servers[0]?.fail(new Error("BadResource"));
  await Bun.sleep(10);
  expect(stages).toEqual([]);
  expect(fake.targets).toHaveLength(1);
});
