/**
 * The test side of an adapter driver (test/fixtures/adapter-driver.ts for Bun and Deno,
 * test/fixtures/node-serve-driver.ts for Node): a child process that takes one JSON command per
 * stdin line and answers one JSON line per command on stdout, matched by `id`.
 */
import { type Subprocess, spawn } from "bun";

/** Where a server listens, as the driver reports it. */
export interface Address {
  kind: string;
  host?: string;
  port?: number;
  path?: string;
  fd?: number;
  /** An inherited TCP socket's address (`kind: "fd"`). */
  tcp?: { host?: string; port?: number };
}

export interface Answer {
  id: number;
  error?: { name: string; message: string };
  [key: string]: unknown;
}

export class LineDriver {
  #proc: Subprocess<"pipe", "pipe", "inherit">;
  #waiting = new Map<number, (answer: Answer) => void>();
  #next = 1;

  constructor(cmd: string[], cwd?: string) {
    this.#proc = spawn({ cmd, stdin: "pipe", stdout: "pipe", stderr: "inherit", cwd });
    this.#read().catch(() => {});
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.#proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.startsWith("{")) continue; // the runtime's own output, not an answer
        const answer = JSON.parse(line) as Answer;
        this.#waiting.get(answer.id)?.(answer);
        this.#waiting.delete(answer.id);
      }
    }
  }

  /** Send a command; resolves with the answer (errors included, as `error`). */
  send(command: Record<string, unknown>): Promise<Answer> {
    const id = this.#next++;
    const answer = new Promise<Answer>((resolve) => this.#waiting.set(id, resolve));
    this.#proc.stdin.write(`${JSON.stringify({ id, ...command })}\n`);
    this.#proc.stdin.flush();
    return answer;
  }

  /** Send a command; resolves with the answer, or throws its error. */
  async ok(command: Record<string, unknown>): Promise<Answer> {
    const answer = await this.send(command);
    if (answer.error) throw new Error(`${answer.error.name}: ${answer.error.message}`);
    return answer;
  }

  async serve(
    command: Record<string, unknown>,
  ): Promise<{ server: number; address: Address; scheme: string }> {
    return (await this.ok({ op: "serve", ...command })) as unknown as {
      server: number;
      address: Address;
      scheme: string;
    };
  }

  get exited(): Promise<number | null> {
    return this.#proc.exited;
  }

  kill(): void {
    this.#proc.kill(9);
  }
}
