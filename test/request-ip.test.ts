/** srvx's request.ip (h3 v2's getRequestIP reads it): the client, after proxy headers, on every runtime. */
import { afterAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningTsuv, startTsuv } from "./helpers/tsuv.ts";

const servers: RunningTsuv[] = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});

describe.each(RUNTIMES)("%s", (runtime) => {
  test("request.ip is the client, or the one a trusted proxy names; a copy has none", async () => {
    const server = await startTsuv(runtime, ["test/fixtures/apps/request-ip.ts", "--port", "0"]);
    servers.push(server);
    expect(await (await fetch(`${server.url}/`)).json()).toEqual({ ip: "127.0.0.1" });
    const proxied = await fetch(`${server.url}/`, { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(await proxied.json()).toEqual({ ip: "203.0.113.9" });
    expect(await (await fetch(`${server.url}/copy`)).json()).toEqual({ ip: null });
  }, 30000);
});
