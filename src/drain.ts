/**
 * A server's graceful drain, as uvicorn's shutdown: WebSockets told to go away first, then the
 * listener closed and the requests in flight let finish, then the work the app handed to
 * waitUntil; within the graceful timeout, or cut short by a second SIGINT. What is cut is named,
 * and given a moment to run its cleanup before the shutdown hooks and the exit.
 */
import { waitForBackgroundTasks } from "./background-tasks.ts";
import type { Logger } from "./logging.ts";
import type { NodeAppState } from "./node-app-handler.ts";
import { type HandlerState, requestTarget } from "./request-handler.ts";
import type { RunningServer } from "./runtime/adapter.ts";
import type { WebSocketLayer } from "./websocket.ts";

/** How often a drain looks for a forced exit. */
const POLL_MS = 100;
/** At most this long for the connections cut at the end of a drain to report their close. */
const FORCED_CLOSE_WAIT_MS = 1000;

export interface DrainOptions {
  running: RunningServer;
  state: HandlerState | NodeAppState;
  websockets: WebSocketLayer | null;
  logger: Logger;
  /** Seconds the whole drain may take. */
  limitSeconds: number;
  /** Retiring (a restart or a recycle): see RunningServer.close. */
  retire: boolean;
  /** A second SIGINT while draining: polled, so the drain can be cut short. */
  forced: () => boolean;
}

/** "GET /path" for each request still running, fetch (a Request) or node (an IncomingMessage). */
function runningRequests(state: HandlerState | NodeAppState): string[] {
  const lines: string[] = [];
  for (const request of state.inFlight) {
    // A Request's url is absolute; node:http's is the request target already.
    const target = request.url?.startsWith("/") ? request.url : requestTarget(request.url ?? "/");
    lines.push(`${request.method} ${target}`);
  }
  return lines;
}

export async function drain(options: DrainOptions): Promise<void> {
  const { running, state, websockets, logger, limitSeconds, retire, forced } = options;
  logger.info("Shutting down");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((done) => {
    timer = setTimeout(() => done("timeout"), limitSeconds * 1000);
  });
  // WebSockets first (1012, then cut those that do not answer): closing the server would cut
  // them without a close frame on Deno and Node, and Bun's would wait for them.
  const closeSockets = websockets ? websockets.closeAll(limitSeconds * 1000) : Promise.resolve();
  const background = "background" in state ? state.background : undefined;
  const closed = closeSockets
    .then(() => running.close({ retire }))
    .then(() => waitForBackgroundTasks(background, logger))
    .then(() => "closed" as const);
  let poll: ReturnType<typeof setInterval> | undefined;
  const cutShort = new Promise<"forced">((done) => {
    poll = setInterval(() => forced() && done("forced"), POLL_MS);
  });
  const outcome = await Promise.race([closed, expired, cutShort]);
  clearTimeout(timer);
  clearInterval(poll);
  if (outcome !== "closed") {
    const cut = runningRequests(state);
    const reason = outcome === "timeout" ? "timeout graceful shutdown exceeded" : "forced exit";
    const abandoned = background?.size ?? 0;
    // With no handler running and no task pending, what held the drain is a response still being
    // sent (a stream).
    logger.error(
      cut.length
        ? `Cancel ${cut.length} running request(s), ${reason}: ${cut.join(", ")}`
        : abandoned > 0
          ? `Abandon ${abandoned} background task(s) handed to waitUntil, ${reason}`
          : `Close the connections still sending a response, ${reason}`,
    );
    websockets?.terminateAll();
    // Cutting a connection sets off the app's cleanup: a streamed body's cancel(), request.signal's
    // abort. It runs as the sockets close (Node says when: forceClose resolves), and is given one
    // timer more, before the shutdown hooks and the exit (as uvicorn lets the tasks it cancelled
    // run their cleanup). Bounded, should a socket never report its close.
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      running.forceClose(),
      new Promise((resolve) => {
        bound = setTimeout(resolve, FORCED_CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(bound);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
