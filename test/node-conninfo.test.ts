/**
 * Hono apps written for @hono/node-server read the client as `env.incoming.socket` (its
 * getConnInfo, and the `c.env.incoming.socket.remoteAddress` idiom). On Node, tsuv's fetch info
 * answers that, with the client after proxy headers, as `info.remoteAddr` and the access log name
 * it; with --limit-concurrency too (another info object), and on a unix socket (no client).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAll, type RuntimeKey, startTsuv } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/node-conninfo.ts";
afterAll(killAll);

interface ConnInfo {
  address: string | null;
  port: number | null;
  family: string | null;
  hasServer: boolean;
}

const get = async (url: string, init?: RequestInit) => (await (await fetch(url, init)).json()) as ConnInfo;

describe.each(["node20", "node24"] as RuntimeKey[])("%s: env.incoming.socket", (runtime) => {
  test.each([[[]], [["--limit-concurrency", "10"]]])(
    "direct and behind a trusted proxy %p",
    async (extra) => {
      const server = await startTsuv(runtime, [APP, "--port", "0", ...extra]);
      const direct = await get(`${server.url}/`);
      expect(direct).toMatchObject({ address: "127.0.0.1", family: "IPv4", hasServer: false });
      expect(direct.port).toBeGreaterThan(0);
      expect(await get(`${server.url}/`, { headers: { "x-forwarded-for": "203.0.113.7" } })).toEqual({
        address: "203.0.113.7",
        port: 0,
        family: "IPv4",
        hasServer: false,
      });
      expect(await get(`${server.url}/`, { headers: { "x-forwarded-for": "2001:db8::1" } })).toMatchObject({
        address: "2001:db8::1",
        family: "IPv6",
      });
      await server.waitFor(/INFO: {5}203\.0\.113\.7:0 - "GET \/ HTTP\/1\.1" 200 OK/);
      await server.kill();
    },
  );

  test("a unix socket has no client", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsuv-conninfo-"));
    try {
      const path = join(dir, "tsuv.sock");
      const server = await startTsuv(runtime, [APP, "--uds", path]);
      const answer = await get("http://localhost/", { unix: path } as RequestInit);
      expect(answer).toEqual({ address: null, port: null, family: null, hasServer: false });
      await server.kill();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
