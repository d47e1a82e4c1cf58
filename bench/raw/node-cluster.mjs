// Raw baseline for tsuv --workers N on Node: node:cluster with N workers (WORKERS, default 2), each
// running node-http.mjs. Default scheduling (round-robin: the primary accepts and hands off on Linux).
import cluster from "node:cluster";

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? 2);
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  await import("./node-http.mjs");
}
