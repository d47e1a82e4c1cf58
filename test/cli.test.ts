/**
 * The CLI with injected argv and I/O (no process spawning, no process.exit mocking). Ports of the
 * seed's test_cli.py and test_main.py changes:
 *   test_cli_call_multithread_run / test_run_multithread       -> "thread workers run the Multithread supervisor"
 *   test_cli_call_multiprocess_run                               -> "process workers run the Multiprocess supervisor"
 *   test_cli_thread_worker_class_requires_free_threaded_runtime  -> "thread class refused: exit 1 with the reason"
 *   test_run_invalid_thread_worker_class_config                  -> same, through the library's optionsToArgv
 *   test_run_match_config_params                                 -> "the library API accepts every option of the table"
 */
import { describe, expect, test } from "bun:test";
import { main, versionLine } from "../src/cli.ts";
import { resolveConfig } from "../src/config.ts";
import { optionsToArgv } from "../src/index.ts";
import { camelCase, OPTIONS } from "../src/options.ts";
import { pickMode, type Supervisors } from "../src/run.ts";
import { VERSION } from "../src/version.ts";
import { captureIO, fakeAdapter, fakeRuntime } from "./helpers/fake-runtime.ts";

function stubSupervisors() {
  const calls: string[] = [];
  const make = (name: string) => () => ({
    run: async () => {
      calls.push(name);
      return 0;
    },
  });
  const supervisors: Supervisors = {
    multiprocess: make("multiprocess"),
    multithread: make("multithread"),
    reload: make("reload"),
  };
  return { calls, supervisors };
}

describe("supervisor choice", () => {
  test("thread workers run the Multithread supervisor", async () => {
    const { calls, supervisors } = stubSupervisors();
    const io = captureIO(["main:app", "--workers=2", "--worker-class=thread"]);
    expect(await main(fakeAdapter(), io, supervisors)).toBe(0);
    expect(calls).toEqual(["multithread"]);
  });
  test("process workers run the Multiprocess supervisor", async () => {
    const { calls, supervisors } = stubSupervisors();
    expect(await main(fakeAdapter(), captureIO(["main:app", "--workers=2"]), supervisors)).toBe(0);
    expect(calls).toEqual(["multiprocess"]);
  });
  test("--reload runs the reloader and ignores workers with the seed's warning", async () => {
    const { calls, supervisors } = stubSupervisors();
    const io = captureIO(["main:app", "--reload", "--workers=2"]);
    expect(await main(fakeAdapter(), io, supervisors)).toBe(0);
    expect(calls).toEqual(["reload"]);
    expect(io.err.join("\n")).toContain('WARNING:  "workers" flag is ignored when reloading is enabled.');
  });
  test("one worker is served in-process, whatever the class", () => {
    const config = resolveConfig(["a", "--worker-class", "thread"], {}, { runtime: fakeRuntime() });
    expect(pickMode(config)).toBe("single");
  });
});

describe("refusals and usage errors: one line, exit code", () => {
  test("thread class refused: exit 1 with the reason", async () => {
    const { calls, supervisors } = stubSupervisors();
    const bunOnMac = fakeRuntime({
      name: "bun",
      displayName: "Bun",
      version: "1.4.5",
      os: "darwin",
      caps: { reusePortBalances: false, listenOnFd: false },
    });
    const io = captureIO(["main:app", "--workers=2", "--worker-class=thread"]);
    expect(await main(fakeAdapter(bunOnMac), io, supervisors)).toBe(1);
    expect(io.err).toEqual([
      'Error: Worker class "thread" requires SO_REUSEPORT load balancing (Linux); found Bun 1.4.5 on darwin.',
    ]);
    expect(calls).toEqual([]);
  });
  test("the library API refuses the same way", () => {
    const argv = optionsToArgv("main:app", { workers: 2, workerClass: "thread" });
    const deno = fakeRuntime({ name: "deno", displayName: "Deno", caps: { unstableNet: false } });
    expect(() => resolveConfig(argv, {}, { runtime: deno })).toThrow(
      'Worker class "thread" requires Deno\'s unstable net API',
    );
  });
  test("unknown flag: exit 2", async () => {
    const io = captureIO(["main:app", "--wrokers", "2"]);
    expect(await main(fakeAdapter(), io)).toBe(2);
    expect(io.err).toEqual(["Error: No such option: --wrokers. Did you mean --workers?"]);
  });
  test("missing APP: exit 2", async () => {
    const io = captureIO([]);
    expect(await main(fakeAdapter(), io)).toBe(2);
    expect(io.err[0]).toContain("Missing argument 'APP'");
  });
});

test("--version prints tsuv, the runtime and the platform", async () => {
  const io = captureIO(["--version"]);
  expect(await main(fakeAdapter(fakeRuntime({ version: "24.21.0" })), io)).toBe(0);
  expect(io.out).toEqual([`tsuv ${VERSION} running on Node.js 24.21.0 (linux/x64)`]);
  expect(versionLine(fakeAdapter())).toBe(`tsuv ${VERSION} running on Node.js 24.9.0 (linux/x64)`);
});

test("--help lists every option of the table", async () => {
  const io = captureIO(["--help"]);
  expect(await main(fakeAdapter(), io)).toBe(0);
  const help = io.out.join("\n");
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if (spec.type !== "positional") expect(help).toContain(`--${name}`);
  }
});

test("the library API accepts every option of the table", () => {
  const sample: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if (spec.type === "positional" || name === "help" || name === "version") continue;
    const key = camelCase(name);
    sample[key] =
      spec.kind === "bool"
        ? true
        : spec.kind === "list"
          ? ["x:y"]
          : spec.kind === "enum"
            ? (spec as { options: string[] }).options[0]
            : spec.kind === "string"
              ? "127.0.0.1"
              : 1;
  }
  delete sample.fd; // --fd and --uds exclude each other
  delete sample.reload;
  delete sample.sslKeyfile;
  delete sample.sslCertfile;
  delete sample.sslCiphers; // needs the two above
  sample.rootPath = "/api"; // a URL path, not any string
  const argv = optionsToArgv("main:app", sample);
  const config = resolveConfig(argv, {}, { runtime: fakeRuntime() }) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(sample)) {
    if (key === "header") continue; // parsed into `headers`
    expect([key, config[key]]).toEqual([key, value]);
  }
  expect(() => optionsToArgv("main:app", { nonsense: 1 } as never)).toThrow("Unknown option: nonsense");
});
