/**
 * Apps written for Bun.serve or Deno.serve read fetch's second argument as Bun's Server: `server.requestIP(req)`
 * (hono/bun's getConnInfo), `server.timeout(req, n)`. On Bun, tsuv's RequestInfo answers those, with
 * the client after proxy headers, as the access log names it.
 */
import { afterAll, expect, test } from "bun:test";
import { type RunningTsuv, startTsuv } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/bun-server-api.ts";
const servers: RunningTsuv[] = [];
type IpAnswer = { ip: { address: string; family: string; port: number } | null; hasServer: boolean };
afterAll(async () => {
  for (const server of servers) await server.kill();
});

test("server.requestIP and server.timeout on Bun, direct and behind a trusted proxy", async () => {
  const server = await startTsuv("bun", [APP, "--port", "0"]);
  servers.push(server);
  const direct = (await (await fetch(`${server.url}/ip`)).json()) as IpAnswer;
  expect(direct.ip).toMatchObject({ address: "127.0.0.1", family: "IPv4" });
  expect(direct.ip?.port).toBeGreaterThan(0);
  // Hono's getBunServer takes env.server when `"server" in env`: there must be none.
  expect(direct.hasServer).toBe(false);
  const proxied = (await (
    await fetch(`${server.url}/ip`, { headers: { "x-forwarded-for": "203.0.113.7" } })
  ).json()) as IpAnswer;
  expect(proxied.ip).toEqual({ address: "203.0.113.7", family: "IPv4", port: 0 });
  const slow = await fetch(`${server.url}/slow`);
  expect([slow.status, await slow.text()]).toEqual([200, "slow"]);
  const upgrade = await fetch(`${server.url}/upgrade`);
  expect(upgrade.status).toBe(501);
  expect(await upgrade.text()).toBe(
    "server.upgrade() needs --ws bun: tsuv then serves the app's `websocket` object as Bun.serve's own handlers (docs/websockets.md).",
  );
}, 20000);

test("Deno: info.completed is still there behind a trusted proxy", async () => {
  const server = await startTsuv("deno", ["test/fixtures/apps/info-completed.ts", "--port", "0"]);
  servers.push(server);
  const proxied = await fetch(`${server.url}/p`, { headers: { "x-forwarded-for": "198.51.100.4" } });
  expect(await proxied.json()).toEqual({ completed: "function", client: "198.51.100.4" });
  await server.waitFor(/COMPLETED \/p/);
}, 20000);
