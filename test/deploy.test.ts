/**
 * The deployment recipes of docs/deployment.md, each run as far as this machine allows:
 * - systemd: tsuv handed a listening socket as fd 3, exactly as socket activation does it (Node
 *   serves on it; Bun and Deno refuse with exit code 1 and the reason), and the unit files checked
 *   by `systemd-analyze verify` and against each other's numbers;
 * - nginx: the real Debian nginx with deploy/nginx/tsuv.conf in front of tsuv on a unix socket;
 * - container: Docker cannot run here, so deploy/Dockerfile is linted (dockerfile-utils) and its
 *   final stage's command run with the standalone binary, and deploy/k8s.yaml is validated
 *   against Kubernetes' schemas (kubernetes-models) and checked for matching timeouts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Service } from "kubernetes-models/v1/Service";
import { compileBinary } from "../scripts/build-binary.mjs";
import { resolveConfig } from "../src/config.ts";
import { fakeRuntime } from "./helpers/fake-runtime.ts";
import { killAllStarted, type Running, start, tsuvUrl } from "./helpers/spawn.ts";
import { freePort, ROOT, type RuntimeKey, tsuvCommand } from "./helpers/tsuv.ts";

const TMP = mkdtempSync(join(tmpdir(), "tsuv-deploy-"));
const DEPLOY = join(ROOT, "deploy");
const APP = join(ROOT, "test", "fixtures", "apps", "behaviour.ts");
const read = (path: string) => readFileSync(join(DEPLOY, path), "utf8");

/** The standalone binary, built for this machine: what deploy/Dockerfile and tsuv-uds@.service run. */
const BINARY = join(TMP, "tsuv");

beforeAll(() => {
  compileBinary({ outfile: BINARY, quiet: true });
}, 60_000);
afterEach(killAllStarted);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}) => ({ ...process.env, NO_COLOR: "1", ...extra });

/** `Key=value` lines of a systemd unit (the last one wins, as in systemd). */
function unitKeys(text: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = line.match(/^([A-Za-z]+)=(.*)$/);
    if (match) keys[match[1] as string] = match[2] as string;
  }
  return keys;
}

/** The value after `--flag` in a command line. */
function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

/**
 * What systemd does for a .socket unit: bind and listen, then exec the service with the socket as
 * fd 3 and LISTEN_FDS/LISTEN_PID set. Prints the port first.
 */
const SOCKET_ACTIVATE = `
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(128)
print("activated port %d" % s.getsockname()[1], flush=True)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[1], sys.argv[1:])
`;

/**
 * A misconfigured unit: fd 3 is not a listening stream socket but the file named first, a connected
 * socket (a .socket unit with Accept=yes), a UDP one (ListenDatagram=), or nothing ("").
 */
const NOT_A_LISTENING_SOCKET_AS_FD_3 = `
import os, socket, sys
what = sys.argv[1]
if what == "connected":
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    connection = socket.create_connection(listener.getsockname())
    fd = connection.fileno()
elif what == "udp":
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    fd = udp.fileno()
elif what:
    fd = os.open(what, os.O_RDONLY)
if what:
    os.dup2(fd, 3)
    os.set_inheritable(3, True)
os.execv(sys.argv[2], sys.argv[2:])
`;

function socketActivated(runtime: RuntimeKey, args: string[]): Running {
  const [exe, ...rest] = tsuvCommand(runtime);
  return start(["python3", "-c", SOCKET_ACTIVATE, exe as string, ...rest, ...args], {
    cwd: ROOT,
    env: env(),
  });
}

describe("systemd socket activation (--fd 3)", () => {
  for (const [runtime, workers] of [
    ["node20", "1"],
    ["node24", "2"],
  ] as const) {
    test(`${runtime} serves on the inherited socket (--workers ${workers}) and drains on SIGTERM`, async () => {
      const running = socketActivated(runtime, [`${APP}:app`, "--fd", "3", "--workers", workers]);
      const [, port] = (await running.waitFor(/activated port (\d+)/)) as string[];
      // The address the socket is bound to, as uvicorn prints the inherited socket's getsockname().
      await running.waitFor(
        new RegExp(
          `tsuv running on http://127\\.0\\.0\\.1:${port} via file descriptor 3 \\(Press CTRL\\+C to quit\\)`,
        ),
      );
      const base = `http://127.0.0.1:${port}`;
      const client = await fetch(`${base}/client`).then((r) => r.json());
      expect(client).toEqual({ client: "127.0.0.1", scheme: "http" });
      // SIGTERM during a request: it completes, then tsuv exits 0 (Restart=on-failure stays quiet).
      const slow = fetch(`${base}/slow?ms=700`).then(async (r) => [r.status, await r.text()]);
      await Bun.sleep(200);
      running.proc.kill("SIGTERM");
      expect(await slow).toEqual([200, "slow done"]);
      expect(await running.exited).toBe(0);
    }, 30_000);
  }

  // Before, Node listened on whatever was there and said `listen EINVAL` (a single server), or
  // each worker failed: a closed fd's process workers were restarted until tsuv gave up (exit 3).
  const file = "file descriptor 3 is a regular file, not a socket.";
  const closed = "no file descriptor 97 is open.";
  const cannotListen = (error: string) =>
    `cannot listen on this socket (${error}): it is a connected socket or not a stream socket.`;
  for (const [runtime, fd, what, workers, reason] of [
    ["node20", "3", "package.json", [], file],
    ["node24", "3", "package.json", ["--workers", "2"], file],
    ["node24", "3", "package.json", ["--workers", "2", "--worker-class", "thread"], file],
    ["node20", "97", "", [], closed],
    ["node24", "97", "", ["--workers", "2"], closed],
    ["node24", "97", "", ["--reload"], closed],
    ["node20", "3", "connected", [], cannotListen("listen EINVAL: invalid argument")],
    [
      "node24",
      "3",
      "connected",
      ["--workers", "2", "--worker-class", "thread"],
      cannotListen("listen EINVAL"),
    ],
    ["node24", "3", "udp", ["--workers", "2"], cannotListen("open EINVAL")],
  ] as const) {
    test(`${runtime} --fd ${[fd, ...workers].join(" ")}, ${what || "nothing"} there: exit 1 with one line saying so`, async () => {
      const [exe, ...rest] = tsuvCommand(runtime);
      const args = [`${APP}:app`, "--fd", fd, ...workers];
      const script = NOT_A_LISTENING_SOCKET_AS_FD_3;
      const running = start(["python3", "-c", script, what, exe as string, ...rest, ...args], {
        cwd: ROOT,
        env: env(),
      });
      expect(await running.exited).toBe(1);
      const errors = running
        .output()
        .split("\n")
        .filter((line) => /ERROR|Error|died/.test(line));
      expect(errors).toEqual([
        `ERROR:    --fd ${fd}: ${reason} --fd takes a listening stream socket that tsuv inherits (systemd: a .socket unit with ListenStream= and Accept=no; its first socket is fd 3).`,
      ]);
    }, 30_000);
  }

  for (const [runtime, name] of [
    ["bun", "Bun"],
    ["deno", "Deno"],
  ] as const) {
    test(`${runtime} refuses --fd with exit code 1 and the reason`, async () => {
      const running = socketActivated(runtime, [`${APP}:app`, "--fd", "3"]);
      expect(await running.exited).toBe(1);
      expect(running.output()).toContain(
        `--fd requires a runtime that can listen on an inherited socket; ${name} cannot`,
      );
    }, 30_000);
  }
});

describe("systemd unit files", () => {
  const socket = unitKeys(read("systemd/tsuv.socket"));
  const activated = unitKeys(read("systemd/tsuv.service"));
  const uds = unitKeys(read("systemd/tsuv-uds@.service"));

  test("stop timeouts match the drain, restarts do not loop on startup failures", () => {
    for (const unit of [activated, uds]) {
      const args = (unit.ExecStart as string).split(/\s+/);
      expect(unit.KillSignal).toBe("SIGTERM");
      expect(unit.KillMode).toBe("mixed");
      expect(unit.Restart).toBe("on-failure");
      expect(unit.RestartPreventExitStatus?.split(" ")).toEqual(["1", "2", "3"]);
      expect(Number(unit.TimeoutStopSec)).toBe(Number(flag(args, "--timeout-graceful-shutdown")) + 5);
    }
    // SIGHUP: a rolling restart of the workers (the single-worker instances restart instead).
    expect(activated.ExecReload).toBe("/bin/kill -HUP $MAINPID");
    expect(socket.Accept).toBe("no");
    expect(socket.ListenStream).toBeDefined();
    expect(flag((activated.ExecStart as string).split(/\s+/), "--fd")).toBe("3");
    expect(uds.RuntimeDirectory).toBe("tsuv");
    expect(uds.RuntimeDirectoryPreserve).toBe("yes");
    const udsArgs = (uds.ExecStart as string).split(/\s+/);
    expect(flag(udsArgs, "--uds")).toBe(`/run/${uds.RuntimeDirectory}/tsuv-%i.sock`);
    // The binary (Bun) refuses --uds with more than one worker.
    expect(flag(udsArgs, "--workers") ?? "1").toBe("1");
  });

  test("every ExecStart is a valid tsuv command line for the runtime it runs on", () => {
    // tsuv.service runs on Node (socket activation); tsuv-uds@.service runs the Bun binary.
    const bunInfo = fakeRuntime({
      name: "bun",
      displayName: "Bun",
      version: "1.4.5",
      caps: { listenOnFd: false, passSocketToChild: false },
    });
    for (const [unit, runtime] of [
      [activated, fakeRuntime()],
      [uds, bunInfo],
    ] as const) {
      const argv = (unit.ExecStart as string).replace("%i", "1").split(/\s+/).slice(1);
      const config = resolveConfig(argv, {}, { runtime, exists: () => true });
      expect(config.app).toBe("app.ts:app");
      expect(config.timeoutGracefulShutdown).toBe(25);
    }
  });

  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((path) => existsSync(path));
  test.skipIf(!analyze)(
    "systemd-analyze verify finds nothing to complain about",
    () => {
      const dir = join(TMP, "units");
      mkdirSync(dir, { recursive: true });
      const names = ["tsuv.socket", "tsuv.service", "tsuv-uds@.service"];
      for (const name of names) {
        // The units name /usr/local/bin/tsuv, which is not installed here; verify checks it exists.
        writeFileSync(
          join(dir, name),
          read(`systemd/${name}`).replaceAll("/usr/local/bin/tsuv", "/bin/true"),
        );
      }
      const result = spawnSync(
        analyze as string,
        ["verify", "--man=no", ...names.map((name) => join(dir, name))],
        {
          encoding: "utf8",
        },
      );
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    },
    30_000,
  );
});

describe("nginx in front of tsuv instances on unix sockets", () => {
  const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));
  // CI installs nginx (.ci/run); there its absence is a failure, elsewhere a visible skip.
  if (!nginx && process.env.CI) {
    test("nginx is installed", () => {
      throw new Error("nginx is not installed: .ci/run installs Debian's nginx-light; check its output");
    });
    return;
  }
  if (!nginx) console.warn("test/deploy.test.ts: nginx is not installed; skipping the nginx recipe test");

  const dir = join(TMP, "nginx");
  let httpsPort = 0;
  let httpPort = 0;
  let proxy: Running | undefined;

  beforeAll(async () => {
    if (!nginx) return;
    mkdirSync(join(dir, "temp"), { recursive: true });
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"].concat([
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ]),
      { stdio: "ignore" },
    );
    httpsPort = await freePort();
    httpPort = await freePort();
    // The recipe as shipped, with this test's paths and ports put in. Each replaced text must be
    // in the file, so the test breaks rather than drifts when the recipe changes.
    let site = read("nginx/tsuv.conf");
    for (const [from, to] of [
      ["server unix:/run/tsuv/", `server unix:${dir}/`],
      ["listen 443 ssl;", `listen 127.0.0.1:${httpsPort} ssl;`],
      ["listen 80;", `listen 127.0.0.1:${httpPort};`],
      ["/etc/ssl/certs/example.com.pem", join(dir, "cert.pem")],
      ["/etc/ssl/private/example.com.key", join(dir, "key.pem")],
    ] as const) {
      expect(site).toContain(from);
      site = site.replaceAll(from, to);
    }
    writeFileSync(join(dir, "tsuv.conf"), site);
    const temp = join(dir, "temp");
    writeFileSync(
      join(dir, "nginx.conf"),
      [
        // As root, nginx's workers would switch to nobody, who cannot enter this 0700 directory.
        process.getuid?.() === 0 ? "user root;" : "",
        "worker_processes 1;",
        `pid ${join(dir, "nginx.pid")};`,
        "daemon off;",
        "events { worker_connections 64; }",
        "http {",
        "  access_log off;",
        `  client_body_temp_path ${temp}/body; proxy_temp_path ${temp}/proxy;`,
        `  fastcgi_temp_path ${temp}/fastcgi; uwsgi_temp_path ${temp}/uwsgi; scgi_temp_path ${temp}/scgi;`,
        `  include ${join(dir, "tsuv.conf")};`,
        "}",
      ].join("\n"),
    );
    proxy = start([nginx, "-e", join(dir, "error.log"), "-p", dir, "-c", join(dir, "nginx.conf")], {
      cwd: dir,
      env: env(),
    });
    // nginx logs nothing on a successful start: wait for its port.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${httpPort}/`, { redirect: "manual" }).then(
        () => true,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline || proxy.proc.exitCode !== null)
        throw new Error(
          `nginx did not start\n${proxy.output()}\n${readFileSync(join(dir, "error.log"), "utf8")}`,
        );
      await Bun.sleep(50);
    }
  }, 30_000);

  afterAll(async () => {
    if (!proxy) return;
    // SIGTERM: nginx's fast shutdown stops its workers too; the tree kill is the fallback.
    proxy.proc.kill("SIGTERM");
    const stopped = await Promise.race([proxy.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!stopped) await proxy.kill();
  });

  const httpsGet = (path: string, headers: Record<string, string> = {}) =>
    fetch(`https://127.0.0.1:${httpsPort}${path}`, { headers, tls: { rejectUnauthorized: false } });

  test.skipIf(!nginx)(
    "the app sees the client's address and https, instances share the load and restart one at a time",
    async () => {
      // Instance 1: the binary, one worker (tsuv-uds@.service). Instance 2: Node's tsuv, which can
      // also serve a unix socket with several workers.
      const instances = [
        { n: "1", cmd: [BINARY], extra: [] },
        { n: "2", cmd: tsuvCommand("node20"), extra: ["--workers", "2"] },
      ].map(({ n, cmd, extra }) =>
        start(
          [
            ...cmd,
            `${APP}:app`,
            "--uds",
            join(dir, `tsuv-${n}.sock`),
            "--forwarded-allow-ips",
            "*",
            ...extra,
          ],
          { cwd: ROOT, env: env({ INSTANCE: n }) },
        ),
      );
      for (const instance of instances) await instance.waitFor(/tsuv running on socket/);

      // Until both instances listen, nginx may answer 502 (and mark a server failed for 10 s).
      const seen = new Set<string>();
      for (let i = 0; i < 200 && seen.size < 2; i++) {
        const response = await httpsGet("/env?name=INSTANCE");
        if (response.status === 200) seen.add(await response.text());
        else await Bun.sleep(50);
      }
      expect([...seen].sort()).toEqual(["1", "2"]);

      // X-Forwarded-For and -Proto from the client are forged: nginx replaces them.
      for (let i = 0; i < 4; i++) {
        const response = await httpsGet("/client", {
          "x-forwarded-for": "203.0.113.9",
          "x-forwarded-proto": "http",
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ client: "127.0.0.1", scheme: "https" });
      }
      const redirect = await fetch(`http://127.0.0.1:${httpPort}/client?x=1`, { redirect: "manual" });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get("location")).toBe("https://127.0.0.1/client?x=1");

      // Restart instance 1: stopped (SIGTERM, exit 0, socket removed), nginx sends everything to 2.
      const [first, second] = instances as [Running, Running];
      first.proc.kill("SIGTERM");
      expect(await first.exited).toBe(0);
      expect(existsSync(join(dir, "tsuv-1.sock"))).toBe(false);
      for (let i = 0; i < 4; i++) {
        const response = await httpsGet("/env?name=INSTANCE");
        expect(response.status).toBe(200);
        expect(await response.text()).toBe("2");
      }
      second.proc.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    },
    60_000,
  );
});

describe("container recipes (validated; Docker cannot run here)", () => {
  const dockerfile = read("Dockerfile");
  const docs = Bun.YAML.parse(read("k8s.yaml")) as Record<string, unknown>[];
  // biome-ignore lint/suspicious/noExplicitAny: a parsed manifest, validated below by kubernetes-models.
  const deployment = docs.find((doc) => doc.kind === "Deployment") as any;
  const container = deployment?.spec.template.spec.containers[0];
  const containerEnv = Object.fromEntries(
    (container?.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
  );

  /** Instructions of the final stage: [instruction, arguments] in order. */
  const stages = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() && !line.trim().startsWith("#"))
    .map((line) => {
      const [instruction, ...rest] = line.trim().split(/\s+/);
      return [(instruction as string).toUpperCase(), rest.join(" ")] as const;
    })
    .reduce<(readonly [string, string])[][]>((all, entry) => {
      if (entry[0] === "FROM") all.push([]);
      all[all.length - 1]?.push(entry);
      return all;
    }, []);
  const final = stages[stages.length - 1] ?? [];
  const last = (instruction: string) => final.filter(([i]) => i === instruction).pop()?.[1];
  /** ENV of the final stage, KEY=value pairs (values without spaces). */
  const imageEnv = Object.fromEntries(
    final
      .filter(([i]) => i === "ENV")
      .flatMap(([, args]) => args.split(/\s+/).map((pair) => pair.split("=", 2) as [string, string])),
  );

  test("dockerfile-utils lints deploy/Dockerfile clean", () => {
    const bin = join(ROOT, "node_modules", ".bin", "dockerfile-utils");
    const result = spawnSync(bin, ["lint", join(DEPLOY, "Dockerfile")], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 30_000);

  test("multi-stage, the binary on a slim base, non-root, SIGTERM", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.[0]?.[1]).toMatch(/ AS build$/);
    expect(final[0]?.[1]).toMatch(/^debian:[a-z]+-slim$/);
    expect(
      final.some(
        ([i, args]) => i === "COPY" && /--from=build \S*dist\/tsuv \/usr\/local\/bin\/tsuv/.test(args),
      ),
    ).toBe(true);
    const user = last("USER") as string;
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/); // a numeric non-root uid, so runAsNonRoot can check it
    expect(last("STOPSIGNAL")).toBe("SIGTERM");
    // tini as PID 1 reaps orphans (tsuv reaps only its own children) and forwards SIGTERM.
    expect(JSON.parse(last("ENTRYPOINT") as string)).toEqual(["/usr/bin/tini", "--", "/usr/local/bin/tsuv"]);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(Number(user.split(":")[0]));
  });

  test("deploy/k8s.yaml validates against Kubernetes' schemas", () => {
    for (const doc of docs) {
      if (doc.kind === "Deployment") new Deployment(doc as never).validate();
      else if (doc.kind === "Service") new Service(doc as never).validate();
      else throw new Error(`unexpected kind ${doc.kind}`);
    }
    expect(docs.map((doc) => doc.kind).sort()).toEqual(["Deployment", "Service"]);
  });

  test("probes, preStop and the grace period match tsuv's drain", () => {
    const graceful = Number(containerEnv.TSUV_TIMEOUT_GRACEFUL_SHUTDOWN);
    expect(graceful).toBe(Number(imageEnv.TSUV_TIMEOUT_GRACEFUL_SHUTDOWN));
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe("sleep");
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(
      Number(preStop[1]) + graceful + 5,
    );
    expect(container.readinessProbe.httpGet.port).toBe("http");
    expect(container.livenessProbe).toBeDefined();
    const port = container.ports.find((p: { name: string }) => p.name === "http");
    expect(port.containerPort).toBe(Number(containerEnv.TSUV_PORT));
    expect(containerEnv.TSUV_HOST).toBe("0.0.0.0");
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  test("the image's command, run with the standalone binary, serves and stops on its STOPSIGNAL", async () => {
    const workdir = join(TMP, "app");
    mkdirSync(workdir, { recursive: true });
    // COPY --chown=root:root examples/hello.ts ./app.ts
    const copy = final.find(([i, args]) => i === "COPY" && args.includes("examples/"));
    expect(copy?.[1]).toContain("examples/hello.ts ./app.ts");
    copyFileSync(join(ROOT, "examples", "hello.ts"), join(workdir, "app.ts"));
    const cmd = JSON.parse(last("CMD") as string) as string[];
    // The image's entrypoint (tini, then the binary where the image has it) and command. tini is not
    // PID 1 here: TINI_SUBREAPER makes it the reaper of what it starts, as PID 1 would be.
    const entrypoint = (JSON.parse(last("ENTRYPOINT") as string) as string[]).map((part) =>
      part === "/usr/local/bin/tsuv" ? BINARY : part,
    );
    expect(existsSync(entrypoint[0] as string), `${entrypoint[0]} (apt-get install tini)`).toBe(true);
    // The image's environment, but loopback and port 0 here.
    const running = start([...entrypoint, ...cmd], {
      cwd: workdir,
      env: {
        ...imageEnv,
        TSUV_HOST: "127.0.0.1",
        TSUV_PORT: "0",
        PATH: "/usr/bin:/bin",
        NO_COLOR: "1",
        TINI_SUBREAPER: "1",
      },
    });
    const url = await tsuvUrl(running);
    await running.waitFor(/Started parent process/);
    let body = "";
    for (let i = 0; i < 100 && body !== "Hello, world!"; i++) {
      body = await fetch(url).then(
        (r) => r.text(),
        () => "",
      );
      if (body !== "Hello, world!") await Bun.sleep(50);
    }
    expect(body).toBe("Hello, world!");
    running.proc.kill(last("STOPSIGNAL") as NodeJS.Signals);
    expect(await running.exited).toBe(0);
  }, 60_000);
});
