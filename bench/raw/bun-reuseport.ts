// Raw baseline for tsuv --workers N on Bun: N child processes, each a Bun.serve with reusePort on
// the same port (the kernel balances connections between them; Linux only). WORKERS defaults to 2.
// The parent only supervises: it kills its children when it is told to stop.
import { join } from "node:path";

const workers = Number(process.env.WORKERS ?? 2);
const children = Array.from({ length: workers }, () =>
  Bun.spawn([process.execPath, join(import.meta.dir, "bun-serve.ts")], {
    env: { ...process.env, REUSE_PORT: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  }),
);

function stop(): void {
  for (const child of children) child.kill("SIGKILL");
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
