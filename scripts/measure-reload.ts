// What a --reload restart costs (docs/reload.md), on a temp project served by tsuv --reload:
//   bun scripts/measure-reload.ts timing RUNTIME [ROUNDS]
//     save -> "Changes detected" -> the new child's "Started server process" -> first new body
//   bun scripts/measure-reload.ts stress RUNTIME [SAVES] [CLIENTS] [keepalive]
//     CLIENTS loops of GET / (a fresh connection each, or keep-alive connections) across SAVES
//     restarts; counts the requests that failed.
// RUNTIME: node20 | node24 | bun | deno (Node runs dist/: build it first).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RuntimeKey, startTsuv } from "../test/helpers/tsuv.ts";

const [mode = "timing", runtime = "bun", ...rest] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "tsuv-measure-reload-"));
const app = (v: string) =>
  `import { message } from "./lib.ts";\nexport default { fetch: () => new Response(message("${v}")) };\n`;
writeFileSync(join(dir, "lib.ts"), "export const message = (v: string) => v;\n");
writeFileSync(join(dir, "app.ts"), app("v0"));
const t = await startTsuv(runtime as RuntimeKey, ["app.ts", "--reload", "--port", "0", "--no-access-log"], {
  cwd: dir,
});
await t.waitFor(/Started server process/);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const count = (re: RegExp) => (t.stdout() + t.stderr()).match(new RegExp(re.source, "g"))?.length ?? 0;
const keepAlive = rest[2] === "keepalive" ? new Agent({ keepAlive: true, maxSockets: 8 }) : false;
const once = () =>
  new Promise<string>((resolve) => {
    const req = request({ host: "127.0.0.1", port: t.port, path: "/", agent: keepAlive }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", (e) => resolve(`ERROR ${e.message}`));
    });
    req.on("error", (e) => resolve(`ERROR ${e.message}`));
    req.end();
  });

try {
  if (mode === "timing") {
    for (let i = 1; i <= Number(rest[0] ?? 3); i++) {
      await sleep(1500);
      const changes0 = count(/Changes detected/);
      const started0 = count(/Started server process/);
      const t0 = performance.now();
      let detected = 0;
      let started = 0;
      writeFileSync(join(dir, "app.ts"), app(`v${i}`));
      const poll = setInterval(() => {
        const now = performance.now();
        if (!detected && count(/Changes detected/) > changes0) detected = now;
        if (!started && count(/Started server process/) > started0) started = now;
      }, 2);
      while ((await once()) !== `v${i}`) await sleep(5);
      const served = performance.now();
      clearInterval(poll);
      const ms = (at: number) => `${(at - t0).toFixed(0)} ms`;
      console.log(
        `${runtime}: detected ${ms(detected)}, child started ${ms(started)}, new body ${ms(served)}`,
      );
    }
  } else {
    const saves = Number(rest[0] ?? 10);
    let stop = false;
    const results = new Map<string, number>();
    const clients = Array.from({ length: Number(rest[1] ?? 2) }, async () => {
      while (!stop) {
        const body = await once();
        const key = body.startsWith("ERROR") ? body : "ok";
        results.set(key, (results.get(key) ?? 0) + 1);
      }
    });
    for (let i = 1; i <= saves; i++) {
      await sleep(400);
      const started = count(/Started server process/);
      writeFileSync(join(dir, "app.ts"), app(`v${i}`));
      const deadline = Date.now() + 20_000;
      while (count(/Started server process/) === started && Date.now() < deadline) await sleep(10);
    }
    await sleep(500);
    stop = true;
    await Promise.all(clients);
    console.log(`${runtime}, ${saves} restarts, ${keepAlive ? "keep-alive" : "fresh connections"}:`, results);
  }
} finally {
  if (keepAlive) keepAlive.destroy();
  await t.kill();
  rmSync(dir, { recursive: true, force: true });
}
