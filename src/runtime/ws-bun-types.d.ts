// What ws-bun.ts uses of crossws/adapters/bun, for `deno check` (see ws-bun.ts): crossws's own
// declarations import Bun's types, which clash with Deno's.
import type { AdapterOptions } from "crossws";

export interface BunAdapter {
  websocket: Record<string, unknown> & { open?(ws: unknown): unknown };
  handleUpgrade(request: Request, server: unknown): Promise<Response | undefined>;
}
declare const bunAdapter: (options?: AdapterOptions) => BunAdapter;
export default bunAdapter;
