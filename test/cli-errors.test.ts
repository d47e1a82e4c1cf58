/**
 * Bad invocations of the real CLI (issue #8, "CLI and config"): each row is one mistake an operator
 * makes, with the exit code it must end with (src/errors.ts: 1 config/prerequisite, 2 usage, 3 app
 * load/startup) and a regex for the one line that says what is wrong. Every row also asserts: no
 * stack trace, a short non-empty stderr, and a quick exit. Run on Node 20 (dist/cli.mjs) and Bun;
 * rows marked `deno` also on Deno (its start-up is the slowest, so a subset).
 *
 * Not errors, on purpose: a malformed line in an --env-file is skipped with a warning, as
 * python-dotenv does (test/env-file.test.ts); a garbage --ssl-ca-certs used to be ignored by Node and
 * Deno and is now refused up front on all three (src/runtime/tls-check.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deno } from "../scripts/tools.mjs";
import { selfSignedCert } from "./helpers/tls.ts";
import { killAll, ROOT, type RuntimeKey, runTsuv } from "./helpers/tsuv.ts";

const APP = "test/fixtures/apps/behaviour.ts:app";
const MAIN = "test/fixtures/apps/main.ts";
/** A clear exit comes fast; generous for a loaded 2-core machine (Deno starts in ~0.5 s idle). */
const EXIT_WITHIN_MS = 8000;

/** Filled in beforeAll: a busy port and TLS files. */
const ctx = { busyPort: 0, dir: "" };
const file = (name: string) => join(ctx.dir, name);
const TLS = () => ["--ssl-keyfile", file("key.pem"), "--ssl-certfile", file("cert.pem")];
const TLS_WITH_CA = () => [...TLS(), "--ssl-ca-certs", file("cert.pem")];

interface Row {
  name: string;
  /** Arguments after the command; a function when they need ctx (paths, the busy port). */
  args: string[] | (() => string[]);
  code: number;
  line: RegExp;
  env?: Record<string, string>;
  /** Also run on Deno. */
  deno?: boolean;
  /** Only on these runtimes (default node20 and bun, plus deno when `deno` is set). */
  only?: RuntimeKey[];
  /** stderr lines allowed (default 3: the runtime line, "Started server process", the error). */
  maxLines?: number;
  /**
   * Node reads a script's `--env-file PATH` as its own option before tsuv runs, and exits 9 with
   * "node: PATH: not found" (nodejs/node#54232, still so in Node 24.21): one clear line, but not ours.
   */
  node?: { code: number; line: RegExp };
}

const ROWS: Row[] = [
  // --- usage: exit 2, before anything starts
  {
    name: "unknown flag",
    args: [APP, "--wrokers", "2"],
    code: 2,
    line: /^Error: No such option: --wrokers\. Did you mean --workers\?$/,
    deno: true,
  },
  {
    name: "port -1",
    args: [APP, "--port", "-1"],
    code: 2,
    line: /'--port': '-1' is not in the range x>=0\./,
    deno: true,
  },
  // uvicorn options tsuv does not have: named, with what to do instead, not silently ignored.
  {
    name: "uvicorn's --log-config",
    args: [APP, "--log-config", "logging.yaml"],
    code: 2,
    line: /^Error: No such option: --log-config: a Python logging config does not apply; see --log-level, --log-format json and --no-access-log\.$/,
  },
  {
    name: "uvicorn's --ws websockets",
    args: [APP, "--ws", "websockets"],
    code: 2,
    line: /^Error: Invalid value for '--ws': 'websockets' is one of uvicorn's Python WebSocket libraries; tsuv uses the runtime's own WebSockets: use auto \(the default\), none or bun\.$/,
    deno: true,
  },
  {
    name: "uvicorn's --loop",
    args: [APP, "--loop", "uvloop"],
    code: 2,
    line: /^Error: No such option: --loop: uvicorn's event-loop choice does not apply/,
  },
  {
    name: "--root-path that is not a path",
    args: [APP, "--root-path", "api"],
    code: 2,
    line: /^Error: Invalid value for '--root-path': 'api' must start with '\/'\.$/,
  },
  {
    name: "port 70000",
    args: [APP, "--port", "70000"],
    code: 2,
    line: /'--port': '70000' is not a valid port \(0-65535\)\./,
  },
  {
    name: "port abc",
    args: [APP, "--port", "abc"],
    code: 2,
    line: /'--port': 'abc' is not a valid integer\./,
  },
  {
    name: "port from the environment",
    args: [APP],
    env: { TSUV_PORT: "abc" },
    code: 2,
    line: /'TSUV_PORT': 'abc' is not a valid integer\./,
  },
  {
    name: "missing APP",
    args: ["--port", "0"],
    code: 2,
    line: /Missing argument 'APP'\. Try 'tsuv --help' for help\./,
    deno: true,
  },
  {
    name: "extra positional",
    args: [APP, "other:app"],
    code: 2,
    line: /Got unexpected extra argument \(other:app\)/,
  },
  {
    name: "flag without its value",
    args: [APP, "--host"],
    code: 2,
    line: /Option '--host' requires an argument\./,
  },
  {
    name: "value given to a boolean flag",
    args: [APP, "--reload=yes"],
    code: 2,
    line: /Option '--reload' does not take a value\./,
  },
  {
    name: "zero workers",
    args: [APP, "--workers", "0"],
    code: 2,
    line: /'--workers': '0' is not in the range x>=1\./,
    deno: true,
  },
  {
    name: "negative workers",
    args: [APP, "--workers", "-2"],
    code: 2,
    line: /'--workers': '-2' is not in the range x>=1\./,
  },
  {
    name: "non-integer workers",
    args: [APP, "--workers", "1.5"],
    code: 2,
    line: /'--workers': '1\.5' is not a valid integer\./,
  },
  {
    name: "WEB_CONCURRENCY garbage",
    args: [APP],
    env: { WEB_CONCURRENCY: "many" },
    code: 2,
    line: /'WEB_CONCURRENCY': 'many' is not a valid integer\./,
  },
  {
    name: "unknown worker class",
    args: [APP, "--worker-class", "fiber"],
    code: 2,
    line: /'--worker-class': 'fiber' is not one of 'process', 'thread'\./,
  },
  {
    name: "bad --log-level",
    args: [APP, "--log-level", "loud"],
    code: 2,
    line: /'--log-level': 'loud' is not one of 'critical', 'error', 'warning', 'info', 'debug', 'trace'\./,
    deno: true,
  },
  {
    name: "bad --log-format",
    args: [APP, "--log-format", "xml"],
    code: 2,
    line: /'--log-format': 'xml' is not one of 'text', 'json'\./,
  },
  {
    name: "bad --interface",
    args: [APP, "--interface", "grpc"],
    code: 2,
    line: /'--interface': 'grpc' is not one of 'auto', 'fetch', 'node'\./,
  },
  {
    name: "--forwarded-allow-ips not an address",
    args: [APP, "--forwarded-allow-ips", "nonsense"],
    code: 2,
    line: /'--forwarded-allow-ips': 'nonsense' is not an IP address, a CIDR network or '\*'\./,
    deno: true,
  },
  {
    name: "--forwarded-allow-ips bad CIDR",
    args: [APP, "--forwarded-allow-ips", "10.0.0.0/99"],
    code: 2,
    line: /'10\.0\.0\.0\/99' is not an IP address, a CIDR network/,
  },
  {
    name: "FORWARDED_ALLOW_IPS garbage names the variable",
    args: [APP],
    env: { FORWARDED_ALLOW_IPS: "zz" },
    code: 2,
    line: /Invalid value for 'FORWARDED_ALLOW_IPS': 'zz'/,
  },
  {
    name: "--limit-concurrency 0",
    args: [APP, "--limit-concurrency", "0"],
    code: 2,
    line: /'--limit-concurrency': '0' is not in the range x>=1\./,
  },
  {
    name: "--limit-max-requests not a number",
    args: [APP, "--limit-max-requests", "x"],
    code: 2,
    line: /'--limit-max-requests': 'x' is not a valid integer\./,
  },
  {
    name: "--limit-max-requests-jitter negative",
    args: [APP, "--limit-max-requests-jitter", "-1"],
    code: 2,
    line: /'--limit-max-requests-jitter': '-1' is not in the range x>=0\./,
  },
  {
    name: "--timeout-graceful-shutdown not a number",
    args: [APP, "--timeout-graceful-shutdown", "abc"],
    code: 2,
    line: /'--timeout-graceful-shutdown': 'abc' is not a valid number\./,
  },
  {
    name: "--timeout-worker-healthcheck 0",
    args: [APP, "--timeout-worker-healthcheck", "0"],
    code: 2,
    line: /'--timeout-worker-healthcheck': '0' is not in the range 0\.1<=x<=2147483\./,
  },
  {
    // Past a timer's longest (2^31-1 ms) the drain timer fired at once and cut every request.
    name: "--timeout-graceful-shutdown past the longest timer",
    args: [APP, "--timeout-graceful-shutdown", "99999999"],
    code: 2,
    line: /'--timeout-graceful-shutdown': '99999999' is not in the range 0<=x<=2147483\./,
  },
  {
    name: "--backlog 0",
    args: [APP, "--backlog", "0"],
    code: 2,
    line: /'--backlog': '0' is not in the range x>=1\./,
  },
  {
    name: "--header without a colon",
    args: [APP, "--header", "nocolon"],
    code: 2,
    line: /'--header': 'nocolon' is not NAME:VALUE\./,
  },
  {
    // Each runtime's Headers said it once a worker was up, in its own words; Node's took it and
    // then answered every request 500.
    name: "--header with a control character in its value",
    args: [APP, "--header", "x-note: a\u0001b", "--workers", "2", "--worker-class", "thread"],
    code: 2,
    line: /'--header': "x-note: a\\u0001b" has a character no header value may hold \(a control character, or one above U\+00FF\)\./,
    deno: true,
  },
  {
    name: "--uds with --fd",
    args: [APP, "--uds", "/tmp/tsuv-x.sock", "--fd", "3"],
    code: 2,
    line: /Options '--uds' and '--fd' are mutually exclusive\./,
    deno: true,
  },
  {
    name: "--ssl-keyfile without --ssl-certfile",
    args: () => [APP, "--ssl-keyfile", file("key.pem")],
    code: 2,
    line: /Options '--ssl-keyfile' and '--ssl-certfile' must be given together\./,
  },
  {
    name: "--ssl-cert-reqs 3",
    args: [APP, "--ssl-cert-reqs", "3"],
    code: 2,
    line: /Invalid value for '--ssl-cert-reqs': '3' is not one of '0', '1', '2'\./,
    deno: true,
  },
  {
    name: "--ssl-cert-reqs without TLS",
    args: () => [APP, "--ssl-cert-reqs", "2", "--ssl-ca-certs", file("cert.pem")],
    code: 2,
    line: /Option '--ssl-cert-reqs 2' needs '--ssl-keyfile' and '--ssl-certfile'\./,
    deno: true,
  },
  {
    name: "--ssl-cert-reqs without a CA file",
    args: () => [APP, ...TLS(), "--ssl-cert-reqs", "1"],
    code: 2,
    line: /Option '--ssl-cert-reqs 1' needs '--ssl-ca-certs': the CA certificates that client certificates are verified against\./,
    deno: true,
  },

  {
    name: "--ssl-ciphers without TLS",
    args: [APP, "--ssl-ciphers", "HIGH"],
    code: 2,
    line: /Option '--ssl-ciphers' needs '--ssl-keyfile' and '--ssl-certfile'\./,
    deno: true,
  },

  // --- configuration and prerequisites: exit 1
  {
    name: "--ssl-ciphers on Deno",
    args: () => [APP, ...TLS(), "--ssl-ciphers", "HIGH"],
    code: 1,
    line: /--ssl-ciphers is not available: Deno's server takes no cipher list \(it uses its TLS library's defaults\); found Deno \S+ on linux\./,
    only: ["deno"],
  },
  {
    name: "--ssl-ciphers that no cipher matches",
    args: () => [APP, ...TLS(), "--ssl-ciphers", "NOT-A-CIPHER"],
    code: 1,
    line: /--ssl-ciphers: no cipher in 'NOT-A-CIPHER' is known to the TLS library \(see `openssl ciphers` for the names\)\./,
    maxLines: 5,
  },
  {
    name: "--ssl-cert-reqs 2 on Deno",
    args: () => [APP, ...TLS_WITH_CA(), "--ssl-cert-reqs", "2"],
    code: 1,
    line: /--ssl-cert-reqs 2 is not available: Deno's server cannot ask clients for certificates \(denoland\/deno#26825\); found Deno \S+ on linux\./,
    only: ["deno"],
  },
  {
    name: "--ssl-cert-reqs 1 on Bun",
    args: () => [APP, ...TLS_WITH_CA(), "--ssl-cert-reqs", "1"],
    code: 1,
    line: /--ssl-cert-reqs 1 is not available: Bun's server either requires a verified client certificate \(--ssl-cert-reqs 2\) or takes any certificate unverified, where 1 must refuse a bad one; found Bun \S+ on linux\./,
    only: ["bun"],
  },
  {
    name: "--ws bun off Bun",
    args: ["test/fixtures/apps/websocket-bun.ts", "--ws", "bun"],
    code: 1,
    line: /--ws bun serves the app's websocket object as Bun\.serve's own handlers \(server\.upgrade\(\) in fetch\), which only Bun has; found (Node\.js|Deno) \S+ on linux\. Serve crossws hooks with --ws auto on every runtime \(docs\/websockets\.md\)\./,
    only: ["node20", "deno"],
  },
  {
    name: "port in use",
    args: () => [APP, "--port", String(ctx.busyPort)],
    code: 1,
    line: /error while attempting to bind on address \('127\.0\.0\.1', \d+\): address already in use/,
    deno: true,
  },
  {
    name: "port in use, two workers",
    args: () => [APP, "--port", String(ctx.busyPort), "--workers", "2"],
    code: 1,
    line: /error while attempting to bind on address \('127\.0\.0\.1', \d+\): address already in use/,
  },
  // Bun 1.4.5 says "ENOTTY: inappropriate ioctl for device" for a host its resolver answers NXDOMAIN
  // for (src/runtime/bun.ts unresolvedHost); tsuv asks the resolver and says what Node says. A name
  // under .invalid is NXDOMAIN by RFC 6761; RES_OPTIONS keeps a resolver that does not answer short.
  {
    name: "a host that does not resolve (Bun)",
    args: [APP, "--host", "nonexistent.invalid", "--port", "0"],
    env: { RES_OPTIONS: "timeout:1 attempts:1" },
    code: 1,
    line: /error while attempting to bind on address \('nonexistent\.invalid', 0\): getaddrinfo ENOTFOUND nonexistent\.invalid$/,
    only: ["bun"],
  },
  {
    name: "a host that does not resolve, two workers (Bun)",
    args: [APP, "--host", "nonexistent.invalid", "--port", "0", "--workers", "2"],
    env: { RES_OPTIONS: "timeout:1 attempts:1" },
    code: 1,
    line: /error while attempting to bind on address \('nonexistent\.invalid', 0\): getaddrinfo ENOTFOUND nonexistent\.invalid$/,
    only: ["bun"],
  },
  {
    name: "--uds in a missing directory",
    args: [APP, "--uds", "/nonexistent/dir/tsuv.sock"],
    code: 1,
    line: /^Error: --uds: directory does not exist: \/nonexistent\/dir$/,
    deno: true,
  },
  {
    name: "--uds path longer than a unix socket path can be",
    args: [APP, "--uds", `/tmp/${"s".repeat(110)}.sock`],
    code: 1,
    line: /^Error: --uds: the socket path is 120 bytes long; a unix socket path can be at most 107 bytes: \/tmp\/s+\.sock$/,
    deno: true,
  },
  {
    name: "--env-file missing",
    args: [APP, "--env-file", "/nonexistent/.env"],
    code: 1,
    line: /^Error: --env-file: file not found: \/nonexistent\/\.env$/,
    deno: true,
    node: { code: 9, line: /node: \/nonexistent\/\.env: not found/ },
  },
  {
    name: "--env-file is a directory",
    args: () => [APP, "--env-file", file("a-directory")],
    code: 1,
    line: /^Error: --env-file: cannot read .*a-directory: EISDIR/,
    node: { code: 9, line: /node: .*a-directory: invalid format/ },
  },
  {
    name: "--ssl-keyfile missing",
    args: () => [APP, "--ssl-keyfile", "/nonexistent/key.pem", "--ssl-certfile", file("cert.pem")],
    code: 1,
    line: /^Error: --ssl-keyfile: file not found: \/nonexistent\/key\.pem$/,
  },
  {
    name: "TLS key does not match the certificate",
    args: () => [APP, "--ssl-keyfile", file("other-key.pem"), "--ssl-certfile", file("cert.pem")],
    code: 1,
    line: /--ssl-keyfile: the key in .*other-key\.pem does not match the certificate in .*cert\.pem\./,
    deno: true,
  },
  {
    name: "TLS key is garbage",
    args: () => [APP, "--ssl-keyfile", file("garbage.pem"), "--ssl-certfile", file("cert.pem")],
    code: 1,
    line: /--ssl-keyfile: .*garbage\.pem is not a PEM private key/,
  },
  {
    name: "TLS certificate is garbage",
    args: () => [APP, "--ssl-keyfile", file("key.pem"), "--ssl-certfile", file("bad-cert.pem")],
    code: 1,
    line: /--ssl-certfile: .*bad-cert\.pem is not a PEM certificate/,
  },
  {
    name: "TLS CA file is garbage",
    args: () => [APP, ...TLS(), "--ssl-ca-certs", file("garbage.pem")],
    code: 1,
    line: /--ssl-ca-certs: .*garbage\.pem is not a PEM certificate/,
  },
  {
    name: "TLS key file is a directory",
    args: () => [APP, "--ssl-keyfile", file("a-directory"), "--ssl-certfile", file("cert.pem")],
    code: 1,
    line: /--ssl-keyfile: cannot read .*a-directory: EISDIR/,
  },
  {
    name: "encrypted TLS key without a password",
    args: () => [APP, "--ssl-keyfile", file("encrypted-key.pem"), "--ssl-certfile", file("cert.pem")],
    code: 1,
    line: /The TLS key file is encrypted; give its password with --ssl-keyfile-password\./,
  },
  {
    name: "wrong TLS key password",
    args: () => [
      APP,
      "--ssl-keyfile",
      file("encrypted-key.pem"),
      "--ssl-certfile",
      file("cert.pem"),
      "--ssl-keyfile-password",
      "wrong",
    ],
    code: 1,
    line: /Could not decrypt the TLS key file with the password from --ssl-keyfile-password \(wrong password\?\)/,
    deno: true,
  },
  {
    name: "--reload-dir missing",
    args: [APP, "--reload", "--reload-dir", "/nonexistent/src"],
    code: 1,
    line: /--reload-dir: directory does not exist: \/nonexistent\/src/,
  },
  {
    name: "--reload-dir naming a file",
    args: [APP, "--reload", "--reload-dir", "package.json"],
    code: 1,
    line: /--reload-dir: not a directory: \S+\/package\.json$/,
  },
  {
    name: "--fd where the runtime cannot listen on one",
    args: [APP, "--fd", "3"],
    code: 1,
    line: /^Error: --fd requires a runtime that can listen on an inherited socket; (Bun|Deno) cannot/,
    only: ["bun", "deno"],
  },

  // --- the app: exit 3
  {
    name: "missing app file",
    args: ["test/fixtures/apps/nosuchfile.ts", "--port", "0"],
    code: 3,
    line: /Error loading app\. Could not import module "test\/fixtures\/apps\/nosuchfile"\./,
    deno: true,
  },
  // The app file exists: a missing module is one it imports, and the line names that one.
  {
    name: "an import of the app is missing",
    args: ["test/fixtures/apps/imports-missing.ts", "--port", "0"],
    code: 3,
    line: /Error loading app\. Module "test\/fixtures\/apps\/imports-missing" failed to load: .*no-such-helper\.ts/,
    deno: true,
  },
  {
    name: "missing attribute",
    args: [`${MAIN}:nope`, "--port", "0"],
    code: 3,
    line: /Error loading app\. Attribute "nope" not found in module "test\/fixtures\/apps\/main"\./,
  },
  {
    name: "import string without an attribute",
    args: [`${MAIN}:`, "--port", "0"],
    code: 3,
    line: /Import string "test\/fixtures\/apps\/main\.ts:" must be in format "<module>:<attribute>"\./,
  },
  {
    name: "non-app export",
    args: [`${MAIN}:notAnApp`, "--port", "0"],
    code: 3,
    line: /"test\/fixtures\/apps\/main\.ts:notAnApp" is a number \(42\); expected a fetch handler/,
    deno: true,
  },
  {
    name: "--factory on a non-function",
    args: [`${MAIN}:app`, "--factory", "--port", "0"],
    code: 3,
    line: /Error loading app factory\. The export is an object with keys fetch, not a function\./,
  },
  {
    name: "import-time throw",
    args: ["test/fixtures/apps/throws.ts", "--port", "0"],
    code: 3,
    line: /Error loading app\. Module "test\/fixtures\/apps\/throws" failed to load: boom at import/,
    deno: true,
  },
  // uvicorn's lines: "Waiting for application startup." and the reason, then "Application startup failed."
  {
    name: "startup hook throws",
    args: ["test/fixtures/apps/behaviour.ts:failingStartup", "--port", "0"],
    code: 3,
    line: /ERROR: {4}Exception in application startup: database unreachable/,
    maxLines: 5,
    deno: true,
  },
  // Nothing can settle the hook's promise and nothing else is pending: the runtimes exit 0 silently.
  {
    name: "startup hook awaits a promise nothing can settle",
    args: ["test/fixtures/apps/never-settles.ts", "--port", "0"],
    code: 3,
    line: /^Error: The event loop has nothing left to do, but the app has not finished loading, starting up or shutting down/,
    maxLines: 4,
    deno: true,
  },
  {
    name: "--lifespan on without hooks",
    args: [APP, "--lifespan", "on", "--port", "0"],
    code: 3,
    line: /--lifespan on requires them\./,
    maxLines: 4,
  },
];

/** Deno without the unstable net API ("thread class where unsupported" on a real Linux runtime). */
const DENO_NO_NET = [
  "run",
  "-A",
  `--config=${join(ROOT, "test/fixtures/deno-no-unstable-net.json")}`,
  join(ROOT, "src/cli.ts"),
];

beforeAll(async () => {
  ctx.dir = mkdtempSync(join(tmpdir(), "tsuv-cli-errors-"));
  mkdirSync(file("a-directory"));
  selfSignedCert(ctx.dir); // key.pem, cert.pem, encrypted-key.pem
  selfSignedCert(ctx.dir, "other-"); // other-key.pem: a key that does not match cert.pem
  writeFileSync(file("garbage.pem"), "this is not PEM\n");
  writeFileSync(
    file("bad-cert.pem"),
    "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
  );
  const busy: Server = createServer();
  await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
  ctx.busyPort = (busy.address() as { port: number }).port;
  servers.push(busy);
});

const servers: Server[] = [];
afterAll(async () => {
  await killAll();
  for (const server of servers) server.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

function assertOneClearLine(
  result: { code: number; stdout: string; stderr: string },
  elapsedMs: number,
  expected: { code: number; line: RegExp; maxLines: number },
): void {
  const all = `${result.stdout}${result.stderr}`;
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
  // On failure, show what the operator saw.
  const context = `exit ${result.code}\n--- stderr\n${result.stderr}\n--- stdout\n${result.stdout}`;
  expect(result.code, context).toBe(expected.code);
  expect(lines.length, context).toBeGreaterThan(0);
  expect(
    lines.some((line) => expected.line.test(line)),
    context,
  ).toBe(true);
  expect(all, context).not.toMatch(/^\s+at /m);
  expect(all).not.toContain("node:internal");
  expect(lines.length, context).toBeLessThanOrEqual(expected.maxLines);
  expect(elapsedMs, context).toBeLessThan(EXIT_WITHIN_MS);
}

for (const runtime of ["node20", "bun", "deno"] as const) {
  describe(`${runtime}: bad invocations exit with their code and one clear line`, () => {
    for (const row of ROWS) {
      const runs = row.only ? row.only.includes(runtime) : runtime !== "deno" || row.deno === true;
      if (!runs) continue;
      test(row.name, async () => {
        const args = typeof row.args === "function" ? row.args() : row.args;
        const started = performance.now();
        const result = await runTsuv(runtime, args, { env: row.env, timeoutMs: 20_000 });
        const elapsed = performance.now() - started;
        const expected =
          runtime.startsWith("node") && row.node ? { ...row.node } : { code: row.code, line: row.line };
        assertOneClearLine(result, elapsed, { ...expected, maxLines: row.maxLines ?? 3 });
      });
    }
  });
}

describe("deno without the unstable net API: several workers are refused with the reason", () => {
  for (const workerClass of ["thread", "process"]) {
    test(`--workers 2 --worker-class ${workerClass}`, async () => {
      const started = performance.now();
      const proc = Bun.spawn([deno(), ...DENO_NO_NET, APP, "--workers", "2", "--worker-class", workerClass], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
      const [code, stdout, stderr] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      clearTimeout(timer);
      assertOneClearLine({ code, stdout, stderr }, performance.now() - started, {
        code: 1,
        line: new RegExp(
          `^Error: Worker class "${workerClass}" requires Deno's unstable net API \\(run with --unstable-net`,
        ),
        maxLines: 1,
      });
    });
  }
});
