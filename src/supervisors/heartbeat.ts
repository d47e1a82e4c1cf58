/**
 * The cooperative healthcheck for one worker: when its event loop last spoke, and whether it has
 * gone quiet for longer than the healthcheck timeout (stale). Cooperative because the worker's own
 * event loop does the talking, so a handler stuck in `while (true) {}` falls silent and is found;
 * uvicorn answers its pings from a side thread and misses that.
 *
 * Two ways to ask, one per worker class (WorkerClass.healthy picks):
 * - threads push: the server's tick posts a heartbeat (src/worker.ts heartbeatIntervalMs) and the
 *   check is only how old the last one is (the seed's last_heartbeat / is_healthy);
 * - processes are pulled: the check sends a ping and a later check fails if its pong has not come
 *   back within the timeout (uvicorn's ping over a pipe, here over IPC).
 *
 * Nothing here waits: messages are recorded as they arrive and the supervisor's tick asks, so a hung
 * worker costs the supervisor nothing and is found within the timeout plus one tick.
 */
import type { WorkerPort } from "../runtime/adapter.ts";
import type { Clock } from "./clock.ts";

export class Heartbeat {
  private seenAt: number;
  /** The ping awaiting its pong (process workers): one at a time, so a slow worker is not flooded. */
  private ping: { id: number; sentAt: number } | undefined;
  private pingCounter = 0;

  constructor(
    private readonly port: Pick<WorkerPort, "send" | "onMessage">,
    private readonly clock: Clock,
  ) {
    // Nothing asks before the worker is ready, and "ready" resets this: the start is a placeholder.
    this.seenAt = clock.now();
    port.onMessage((message) => {
      switch (message.type) {
        // Ready counts as a sign of life: a slow boot must not make the first check fail.
        case "ready":
        case "heartbeat":
          this.seenAt = clock.now();
          break;
        case "pong":
          // Only the answer to the ping in flight counts; anything else proves nothing new.
          if (this.ping?.id === message.id) {
            this.ping = undefined;
            this.seenAt = clock.now();
          }
          break;
        default:
          break;
      }
    });
  }

  /**
   * The supervisor did not run for `ms` (the whole tree paused: Ctrl-Z, SIGSTOP, `docker pause`; or
   * starved of CPU). Time it could not watch does not count against the worker: its last sign of
   * life and its ping in flight move forward by that much (never past now). Without this, every
   * thread worker failed its healthcheck at the first check after a pause longer than the timeout
   * (their last heartbeats predate the pause, and a timer runs before the I/O that brings new
   * ones), and was replaced.
   */
  overlook(ms: number): void {
    const now = this.clock.now();
    this.seenAt = Math.min(now, this.seenAt + ms);
    if (this.ping) this.ping.sentAt = Math.min(now, this.ping.sentAt + ms);
  }

  /** When the worker last showed its event loop runs: ready, a heartbeat, or a pong (clock ms). */
  get lastSeen(): number {
    return this.seenAt;
  }

  /** Thread check: the last heartbeat is at most `timeoutMs` old (the boundary itself still passes). */
  fresh(timeoutMs: number): boolean {
    return this.clock.now() - this.lastSeen <= timeoutMs;
  }

  /**
   * Process check: false once the ping in flight has waited longer than `timeoutMs` (the boundary
   * itself still passes). With none in flight it sends the next ping and passes. Only checks decide:
   * a pong that came after the timeout but before the next check still clears its ping, and the
   * next ping goes out at a check, so a healthy process is pinged once a tick at most.
   */
  pingAnswered(timeoutMs: number): boolean {
    const now = this.clock.now();
    if (this.ping) return now - this.ping.sentAt <= timeoutMs;
    this.pingCounter += 1;
    // Recorded before sending: a worker (or a fake) may answer synchronously.
    this.ping = { id: this.pingCounter, sentAt: now };
    this.port.send({ type: "ping", id: this.pingCounter });
    return true;
  }
}
