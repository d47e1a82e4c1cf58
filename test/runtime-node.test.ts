/**
 * The Node.js adapter (src/runtime/node*.ts) over real sockets, on Node 20, 22, 24 and 26: the driver
 * (test/fixtures/node-serve-driver.ts) is bundled with esbuild, as dist/ is, and run by each Node;
 * this process is the HTTP client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { node20, pinnedNode, ROOT } from "../scripts/tools.mjs";
import { FRAMING_APP, rawRequest as rawExchange, splitResponses } from "./behaviour/suite.ts";
import { type Address, LineDriver } from "./helpers/line-driver.ts";
import { closedWithin, rawRequest, readStream, sleep } from "./helpers/raw-http.ts";
import { selfSignedPem } from "./helpers/tls.ts";
import { canListen } from "./helpers/tsuv.ts";

/** Inside the repository, so the bundle's external `esbuild` import resolves from node_modules. */
const OUT = join(ROOT, "node_modules", ".cache", `tsuv-node-test-${process.pid}`);
const tcp = (port = 0, host = "127.0.0.1") => ({ kind: "tcp", host, port, reusePort: false });

let dir: string;
let key: string;
let cert: string;
let encryptedKey: string;

beforeAll(async () => {
  await build({
    absWorkingDir: ROOT,
    entryPoints: { driver: "test/fixtures/node-serve-driver.ts", "ts-hooks": "src/runtime/node-ts-hooks.ts" },
    outdir: OUT,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["esbuild"],
    logLevel: "error",
  });
  dir = mkdtempSync(join(tmpdir(), "tsuv-node-adapter-"));
  ({ key, cert, encryptedKey } = selfSignedPem());
  writeTsApp(join(dir, "tsapp"));
  writeJsonImportApp(join(dir, "tsapp"));
  writeMonorepoApp(join(dir, "mono"));
  writeMetadataApp(join(dir, "metadata", "with-typescript"), true);
  writeMetadataApp(join(dir, "metadata", "without-typescript"), false);
  writeFileSync(join(dir, "framing.mjs"), FRAMING_APP);
});

afterAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A package of a monorepo whose tsconfig.json only extends: legacy decorators from a relative base,
 * the JSX factory from a base in a package, bases given as an array.
 */
function writeMonorepoApp(root: string): void {
  const api = join(root, "packages", "api");
  const shared = join(root, "node_modules", "@acme", "tsconfig");
  mkdirSync(api, { recursive: true });
  mkdirSync(shared, { recursive: true });
  writeFileSync(
    join(root, "tsconfig.base.json"),
    `{\n  // shared\n  "compilerOptions": { "experimentalDecorators": true, "jsxFactory": "React.createElement", "baseUrl": ".", "paths": { "@shared/*": ["shared/*"] } },\n}\n`,
  );
  mkdirSync(join(root, "shared"), { recursive: true });
  writeFileSync(join(root, "shared", "word.ts"), `export const word: string = "shared";\n`);
  mkdirSync(join(api, "src", "util"), { recursive: true });
  writeFileSync(join(api, "src", "util", "index.ts"), `export const util: string = "util";\n`);
  writeFileSync(join(shared, "package.json"), `{"name":"@acme/tsconfig","version":"1.0.0"}`);
  writeFileSync(join(shared, "jsx.json"), `{"compilerOptions": {"jsxFactory": "h"}}`);
  writeFileSync(
    join(api, "tsconfig.json"),
    `{"extends": ["../../tsconfig.base", "@acme/tsconfig/jsx.json"], "compilerOptions": {}}`,
  );
  // Paths without a baseUrl anywhere: relative to the file that says them.
  writeFileSync(
    join(api, "src", "tsconfig.json"),
    `{"compilerOptions": {"paths": {"~/*": ["./*"], "@shared/*": ["../../../shared/*"]}}}`,
  );
  writeFileSync(
    join(api, "main.tsx"),
    [
      `import { word } from "@shared/word";`,
      `const seen: string[] = [];`,
      `const Param = (name: string) => (_target: object, key: string, index: number) => { seen.push(\`\${key}(\${name}@\${index})\`); };`,
      `const h = (tag: string, _props: unknown, ...children: string[]) => \`<\${tag}>\${children.join("")}</\${tag}>\`;`,
      `class Controller { hello(@Param("id") id: string) { return id; } }`,
      `void Controller;`,
      `export default { fetch: () => new Response(\`\${seen.join()} \${<i>{"jsx"}</i>} \${word}\`) };`,
      ``,
    ].join("\n"),
  );
  writeFileSync(
    join(api, "src", "aliased.ts"),
    [
      `import { word } from "@shared/word";`,
      `import { util } from "~/util";`,
      `export default { fetch: () => new Response(\`\${word} \${util}\`) };`,
      ``,
    ].join("\n"),
  );
}

/**
 * An app that reads the decorator metadata its tsconfig.json asks for (emitDecoratorMetadata), as
 * NestJS's dependency injection does through reflect-metadata: the constructor's parameter types.
 * With its own TypeScript installed (a link to the repository's) or without.
 */
function writeMetadataApp(app: string, withTypeScript: boolean): void {
  mkdirSync(join(app, "node_modules"), { recursive: true });
  if (withTypeScript)
    symlinkSync(join(ROOT, "node_modules", "typescript"), join(app, "node_modules", "typescript"));
  writeFileSync(
    join(app, "tsconfig.json"),
    `{"compilerOptions": {"experimentalDecorators": true, "emitDecoratorMetadata": true}}`,
  );
  writeFileSync(join(app, "greeter.ts"), `export class Greeter {}\n`);
  writeFileSync(
    join(app, "main.ts"),
    [
      `import { Greeter } from "./greeter";`,
      `const paramTypes = new Map<unknown, unknown[]>();`,
      `// reflect-metadata's Reflect.metadata: what TypeScript's emitted __metadata calls.`,
      `Object.assign(Reflect, { metadata: (key: string, value: unknown[]) => (target: object) => { if (key === "design:paramtypes") paramTypes.set(target, value); } });`,
      `const Injectable = (): ClassDecorator => () => {};`,
      `@Injectable()`,
      `class Controller { constructor(readonly greeter: Greeter, readonly name: string) {} }`,
      `const types = (paramTypes.get(Controller) ?? []).map((type) => (type === Greeter ? "Greeter" : (type as { name: string }).name));`,
      `export default { fetch: () => new Response(types.join() || "no metadata") };`,
      ``,
    ].join("\n"),
  );
}

/** A TypeScript app as users write them, outside the repository (nothing resolves via tsuv's own). */
function writeTsApp(app: string): void {
  const pkg = join(app, "node_modules", "tsuv-test-greeting");
  mkdirSync(join(app, "lib"), { recursive: true });
  mkdirSync(pkg, { recursive: true });
  // No "type": .ts files with import/export are ESM whatever the package says.
  writeFileSync(join(app, "package.json"), `{"name":"tsapp","private":true}`);
  writeFileSync(
    join(app, "tsconfig.json"),
    `{\n  // comments are allowed\n  "compilerOptions": {"jsxFactory": "h",},\n}\n`,
  );
  writeFileSync(
    join(pkg, "package.json"),
    `{"name":"tsuv-test-greeting","version":"1.0.0","type":"module","main":"index.js"}`,
  );
  writeFileSync(join(pkg, "index.js"), `export const hello = "hi";\n`);
  writeFileSync(
    join(app, "lib", "greet.ts"),
    `export const greet = (who: string): string => \`\${who}!\`;\n`,
  );
  writeFileSync(join(app, "lib", "index.ts"), `export { greet } from "./greet";\n`);
  writeFileSync(join(app, "color.ts"), `export enum Color { Red = "red", Blue = "blue" }\n`);
  writeFileSync(
    join(app, "view.tsx"),
    `const h = (tag: string, _props: unknown, ...children: string[]) => \`<\${tag}>\${children.join("")}</\${tag}>\`;\nexport const view = (text: string) => <b>{text}</b>;\n`,
  );
  // JavaScript with JSX, which Node cannot load as it is: compiled as the .tsx files are, with the
  // tsconfig's jsxFactory.
  writeFileSync(
    join(app, "badge.jsx"),
    `const h = (tag, _props, ...children) => \`<\${tag}>\${children.join("")}</\${tag}>\`;\nexport const badge = (text) => <i>{text}</i>;\nexport default { fetch: () => new Response(badge("jsx entry")) };\n`,
  );
  writeFileSync(
    join(app, "main.ts"),
    [
      `import { hello } from "tsuv-test-greeting";`,
      `import { greet } from "./lib";`,
      `import { Color } from "./color.js";`,
      `import { view } from "./view";`,
      `import { badge } from "./badge";`,
      `interface Info { remoteAddr: { hostname: string } }`,
      `export default {`,
      `  fetch(request: Request, _info: Info): Response {`,
      `    if (new URL(request.url).pathname === "/boom") throw new Error("boom from ts");`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the app's source text
      '    return new Response(`${hello} ${greet(Color.Blue)} ${view("x")} ${badge("y")}`);',
      `  },`,
      `};`,
      ``,
    ].join("\n"),
  );
}

/** A TypeScript app importing JSON without an import attribute, as tsc's resolveJsonModule allows. */
function writeJsonImportApp(app: string): void {
  mkdirSync(join(app, "config"), { recursive: true });
  writeFileSync(join(app, "config", "settings.json"), `{"greeting": "from json"}`);
  writeFileSync(
    join(app, "json.ts"),
    [
      `import settings from "./config/settings.json";`,
      `import again from "./config/settings.json" with { type: "json" };`,
      `export default { fetch: () => new Response(\`\${settings.greeting} \${settings === again}\`) };`,
      ``,
    ].join("\n"),
  );
}

/** The Node.js adapter under test: the bundled test/fixtures/node-serve-driver.ts run by `node`. */
class Driver extends LineDriver {
  constructor(node: string) {
    super([node, join(OUT, "driver.mjs")]);
  }

  async events(): Promise<string[]> {
    return (await this.ok({ op: "events" })).events as string[];
  }
}

/** One raw exchange with `Connection: close`: the whole response as text. */
function exchange(port: number, head: string, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
    });
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
    socket.write(head.includes("\r\n\r\n") ? head : `${head}\r\nConnection: close\r\n\r\n`);
  });
}

/** A keep-alive exchange: resolves once the (content-length) response is in; the socket stays open. */
function keepAlive(port: number, path: string) {
  return rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
}

function body(raw: string): string {
  return raw.slice(raw.indexOf("\r\n\r\n") + 4);
}

for (const version of ["node20", "node22", "node24", "node26"] as const) {
  const major = Number(version.slice(4));
  describe(version, () => {
    let driver: Driver;
    beforeAll(() => {
      driver = new Driver(version === "node20" ? node20() : pinnedNode(major));
    });
    afterAll(() => driver?.kill());

    test("fetch: requests, headers and bodies both ways, the client address", async () => {
      const { server, address, scheme } = await driver.serve({ listen: tcp() });
      expect(scheme).toBe("http");
      const port = address.port as number;

      const get = await keepAlive(port, "/echo?q=1");
      get.socket.destroy();
      const echo = JSON.parse(body(get.response));
      expect(echo).toMatchObject({ method: "GET", url: "http://x/echo?q=1", path: "/echo", body: "" });
      expect(echo.remoteAddr).toEqual({ hostname: "127.0.0.1", port: get.localPort });

      const raw = await exchange(
        port,
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\nX-Dup: 1\r\nX-Dup: 2",
      );
      expect(JSON.parse(body(raw))).toMatchObject({ header: "hello", missing: null, has: true });
      expect(JSON.parse(body(raw)).headers).toContainEqual(["x-dup", "1, 2"]);

      const post = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: "payload" });
      expect(post.headers.get("x-served-by")).toBe("a");
      expect(post.headers.get("content-type")).toBe("application/json");
      expect(await post.json()).toMatchObject({ method: "POST", body: "payload" });

      const cookies = await exchange(port, "GET /cookies HTTP/1.1\r\nHost: x");
      expect(cookies.match(/^set-cookie: .*$/gim)).toEqual(["set-cookie: a=1", "set-cookie: b=2"]);
      expect(cookies).toMatch(/^x-multi: 1$/im);
      expect(cookies).toMatch(/^content-type: text\/plain;charset=UTF-8$/im);
      expect(cookies).toMatch(/^content-length: 1$/im);

      const check = async (path: string, init?: RequestInit) => {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, init);
        return { status: r.status, headers: r.headers, text: await r.text() };
      };
      expect(await check("/bytes")).toMatchObject({ status: 200, text: "hi" });
      expect((await check("/bytes")).headers.get("content-length")).toBe("2");
      expect(await check("/empty")).toMatchObject({ status: 204, text: "" });
      const head = await exchange(port, "HEAD /stream HTTP/1.1\r\nHost: x");
      expect(head).toStartWith("HTTP/1.1 200 OK\r\n");
      expect(body(head)).toBe("");
      expect(await exchange(port, "HEAD /bytes HTTP/1.1\r\nHost: x")).toMatch(
        /content-length: 2\r\n[\s\S]*\r\n\r\n$/i,
      );
      for (const path of ["/defaults", "/defaults?touch"]) {
        const defaults = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: x`);
        expect(defaults.match(/^server: .*$/gim)).toEqual(["server: app"]);
        // Two lines, or one "1, 2" where a Headers object was involved: the same to HTTP.
        const xd = (defaults.match(/^x-d: .*$/gim) ?? []).map((line) => line.slice(5));
        expect(xd.join(", ")).toBe("1, 2");
      }
      const redirect = await exchange(port, "GET /redirect HTTP/1.1\r\nHost: x");
      expect(redirect).toStartWith("HTTP/1.1 301 Moved Permanently\r\n");
      expect(redirect).toMatch(/^location: http:\/\/x\.test\/there$/im);
      const native = await check("/native");
      expect(native).toMatchObject({ status: 201, text: "native body" });
      expect(native.headers.get("x-native")).toBe("1");
      const blob = await check("/blob");
      expect(blob).toMatchObject({ text: "blob!" });
      expect(blob.headers.get("content-type")).toBe("text/x-blob");
      const json = await check("/response-json");
      expect(json).toMatchObject({ status: 201, text: '{"a":1}' });
      expect(json.headers.get("x-a")).toBe("b");
      expect(json.headers.get("content-type")).toBe("application/json");
      expect((await check("/mutate")).headers.get("x-added")).toBe("yes");
      expect((await check("/json", { method: "POST", body: '{"x":[1]}' })).text).toBe('{"got":{"x":[1]}}');
      const form = await check("/form", {
        method: "POST",
        body: "a=1&b=two",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(JSON.parse(form.text)).toEqual({ a: "1", b: "two" });
      const big = "x".repeat(300_000);
      expect((await check("/stream-body", { method: "POST", body: big })).text).toBe(
        "streamed 300000 used=true",
      );
      expect((await check("/twice", { method: "POST", body: "abc" })).text).toBe("abc|TypeError");

      const interop = await check("/interop", { method: "POST", body: "ib", headers: { "x-test": "t" } });
      expect(JSON.parse(interop.text)).toEqual({
        copy: ["POST", `http://127.0.0.1:${port}/interop`, "t", "ib"],
        moved: ["POST", "http://other.test/moved", "t", "ib"],
        isRequest: true,
        isHeaders: true,
        bodyUsed: true,
      });
      await driver.ok({ op: "forceClose", server });
    });

    test("fetch: request URLs as undici would build them; bad targets and bridge failures", async () => {
      const { server, address } = await driver.serve({ listen: tcp() });
      const port = address.port as number;
      const url = (head: string) => exchange(port, head).then(body);
      expect(await url("GET /a/../url/./?x=<y> HTTP/1.1\r\nHost: x")).toBe("http://x/url/?x=%3Cy%3E");
      expect(await url("GET /url?plain=1 HTTP/1.1\r\nHost: example.test:81")).toBe(
        "http://example.test:81/url?plain=1",
      );
      expect(await url("GET http://abs.test/url HTTP/1.1\r\nHost: x")).toBe("http://abs.test/url");
      // ...but the scheme is the connection's: a client cannot make plain HTTP look like https.
      expect(await url("GET https://abs.test:444/url HTTP/1.1\r\nHost: x")).toBe("http://abs.test:444/url");
      expect(await url("GET https://abs.test/url HTTP/1.1\r\nHost: x")).toBe("http://abs.test/url");
      // A Host header that is not an authority: the local address stands in. That includes ones
      // shaped like one that WHATWG URL refuses (the app's `new URL(request.url)` would throw).
      const local = `http://127.0.0.1:${port}/url`;
      for (const host of ["a/b", "x:99999", "x:65536", "1.2.3.256", "a.1", "[::1::2]"]) {
        expect({ host, url: await url(`GET /url HTTP/1.1\r\nHost: ${host}`) }).toEqual({ host, url: local });
      }
      for (const host of ["x\\y", "[::1", "a b", ""]) {
        expect({ host, url: await url(`GET /url HTTP/1.1\r\nHost: ${host}`) }).toEqual({ host, url: local });
      }
      expect(await url("GET /url HTTP/1.0\r\n\r\n")).toBe(local);
      expect(await url("GET /url HTTP/1.1\r\nHost: x:65535")).toBe("http://x:65535/url");
      // After a refused one, the last good Host is not taken for it (nor the other way round).
      expect(await url("GET /url HTTP/1.1\r\nHost: x:99999")).toBe(local);
      expect(await exchange(port, "GET nope HTTP/1.1\r\nHost: x")).toStartWith("HTTP/1.1 400");
      // node:http's own limits stay: 16 KiB of headers, then 431.
      expect(await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(17_000)}`)).toStartWith(
        "HTTP/1.1 431",
      );

      await driver.events();
      const thrown = await fetch(`http://127.0.0.1:${port}/throw`);
      expect(thrown.status).toBe(500);
      const bad = await fetch(`http://127.0.0.1:${port}/bad-header`);
      expect(bad.status).toBe(500);
      const events = await driver.events();
      expect(events.some((e) => e.includes("thrown by the app"))).toBe(true);
      expect(events.length).toBe(2);
      // The server keeps serving.
      expect((await fetch(`http://127.0.0.1:${port}/bytes`)).status).toBe(200);
      await driver.ok({ op: "forceClose", server });
    });

    test("framing: the real length of a known body; a streamed body that does not match the app's Content-Length ends the connection", async () => {
      const { server, address } = await driver.serve({ listen: tcp(), app: join(dir, "framing.mjs") });
      const port = address.port as number;
      const pipelined = async (path: string, method = "GET") =>
        splitResponses(
          await rawExchange(
            port,
            `${method} ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          ),
          [method, "GET"],
        );
      const framing = (headers: [string, string][] | undefined) =>
        (headers ?? []).filter(([name]) => name === "content-length" || name === "transfer-encoding");
      await driver.events();
      // Known lengths: Blob and URLSearchParams (through undici), and an undici Response whose
      // string body the undici of Node 20 and 22 exposes; Node 24's and 26's do not, so that one
      // streams (below).
      const known: [string, string][] = [
        ["/long", "abcdefghij"],
        ["/short", "abc"],
        ["/te", "abc"],
        ["/te-length", "abc"],
        ["/bytes-long", "abcdefghij"],
        ["/buffer-long", "abcdefghij"],
        ["/blob-long", "abcdefghij"],
        ["/params-long", "a=bcdefghi"],
      ];
      if (major < 24) known.push(["/native-long", "abcdefghij"]);
      for (const [path, body] of known) {
        const { responses, rest } = await pipelined(path);
        expect({ path, body: responses[0]?.body, framing: framing(responses[0]?.headers), rest }).toEqual({
          path,
          body,
          framing: [["content-length", String(Buffer.byteLength(body))]],
          rest: "",
        });
        expect(responses[1]?.body).toBe("hello");
      }
      // HEAD: the length a GET would get, for a known body; the app's, for none.
      expect(framing((await pipelined("/short", "HEAD")).responses[0]?.headers)).toEqual([
        ["content-length", "3"],
      ]);
      expect(framing((await pipelined("/null-length", "HEAD")).responses[0]?.headers)).toEqual([
        ["content-length", "5"],
      ]);
      // A 304 keeps the app's Content-Length (it describes the representation).
      expect(framing((await pipelined("/304")).responses[0]?.headers)).toEqual([["content-length", "5"]]);
      // A stream with both: Transfer-Encoding wins, Content-Length is not sent with it.
      const both = await pipelined("/stream-te-length");
      expect(framing(both.responses[0]?.headers)).toEqual([["transfer-encoding", "chunked"]]);
      expect(both.responses.map((r) => r.body)).toEqual(["abcdefghij", "hello"]);
      expect(await driver.events()).toEqual([]);

      // A stream longer or shorter than its Content-Length: the connection ends, the pipelined
      // request after it is not answered on it, and the mismatch is reported (nothing else).
      const mismatched = ["/stream-long", "/stream-short"];
      if (major >= 24) mismatched.push("/native-long");
      for (const path of mismatched) {
        const { responses, rest } = await pipelined(path);
        expect({
          path,
          responses: responses.length,
          rest: rest === "" || rest.startsWith("HTTP/1.1 200"),
        }).toEqual({ path, responses: 0, rest: true });
      }
      const events = await driver.events();
      expect(events.length).toBe(mismatched.length);
      for (const event of events) expect(event).toContain("ERR_HTTP_CONTENT_LENGTH_MISMATCH");
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
      await driver.ok({ op: "forceClose", server });
    });

    test("node: the app's listener is called as is; an error that escapes it is a 500, not a crash", async () => {
      const { server, address } = await driver.serve({ iface: "node", listen: tcp() });
      const port = address.port as number;
      const r = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: "nb" });
      expect(r.headers.get("x-served-by")).toBe("a");
      expect(await r.json()).toEqual({
        tag: "a",
        method: "POST",
        path: "/echo",
        header: null,
        body: "nb",
        remoteAddr: { hostname: "127.0.0.1", port: expect.any(Number) },
      });
      await driver.events();
      expect((await fetch(`http://127.0.0.1:${port}/throw`)).status).toBe(500);
      expect((await fetch(`http://127.0.0.1:${port}/reject`)).status).toBe(500);
      const events = (await driver.events()).join("\n");
      expect(events).toContain("thrown by the node app");
      expect(events).toContain("rejected by the node app");
      expect((await fetch(`http://127.0.0.1:${port}/echo`)).status).toBe(200);
      await driver.ok({ op: "forceClose", server });
    });

    test("streaming: chunks with backpressure; the app hears about a client that went away", async () => {
      const { server, address } = await driver.serve({ listen: tcp() });
      const port = address.port as number;
      const streamed = await fetch(`http://127.0.0.1:${port}/stream?n=4&ms=30`);
      expect(streamed.headers.get("transfer-encoding")).toBe("chunked");
      expect(await readStream(streamed)).toBe("done:chunk0\nchunk1\nchunk2\nchunk3\n");

      const large = await fetch(`http://127.0.0.1:${port}/stream?n=2000`);
      // "chunk0\n" .. "chunk1999\n": 10 x 7 + 90 x 8 + 900 x 9 + 1000 x 10 bytes.
      expect((await large.text()).length).toBe(18_890);

      await driver.events();
      const waiting = new AbortController();
      const pending = fetch(`http://127.0.0.1:${port}/wait-abort`, { signal: waiting.signal }).catch(
        () => "gone",
      );
      const hanging = new AbortController();
      const hung = await fetch(`http://127.0.0.1:${port}/hang`, { signal: hanging.signal });
      await hung.body?.getReader().read();
      await sleep(100);
      waiting.abort();
      hanging.abort();
      expect(await pending).toBe("gone");
      let events: string[] = [];
      for (let i = 0; i < 20 && events.length < 2; i++) {
        await sleep(50);
        events = events.concat(await driver.events());
      }
      expect(events.sort()).toEqual(["aborted /wait-abort", "cancelled /hang"]);
      await driver.ok({ op: "forceClose", server });
    });

    for (const iface of ["fetch", "node"] as const) {
      test(`${iface}: graceful close waits for in-flight requests, closes idle connections at once`, async () => {
        const { server, address } = await driver.serve({ iface, listen: tcp() });
        const port = address.port as number;
        const idle = await keepAlive(port, "/echo");
        const slow = fetch(`http://127.0.0.1:${port}/slow?ms=700`).then(
          async (r) => `${r.status} ${r.headers.get("connection")} ${await r.text()}`,
        );
        await sleep(150);
        const closing = driver.send({ op: "close", server });
        const idleClosedAfter = await closedWithin(idle.socket, 2000);
        expect(idleClosedAfter).toBeGreaterThanOrEqual(0);
        expect(idleClosedAfter).toBeLessThan(400);
        expect(await slow).toBe("200 close slow a");
        const closed = await closing;
        expect(closed.error).toBeUndefined();
        expect(closed.ms as number).toBeGreaterThanOrEqual(400);
        await expect(fetch(`http://127.0.0.1:${port}/echo`)).rejects.toThrow();
      });
    }

    test("forceClose cuts a hung streaming response", async () => {
      const { server, address } = await driver.serve({ listen: tcp() });
      const response = await fetch(`http://127.0.0.1:${address.port}/hang`);
      const streamed = readStream(response);
      await sleep(100);
      await driver.ok({ op: "forceClose", server });
      expect(await Promise.race([streamed, sleep(3000).then(() => "not cut")])).toStartWith("cut:h");
    });

    test("unix socket: mode 0666, no peer address, removed on close", async () => {
      const path = join(dir, `${version}.sock`);
      const { server, address } = await driver.serve({ listen: { kind: "unix", path } });
      expect(address).toEqual({ kind: "unix", path });
      expect(statSync(path).mode & 0o777).toBe(0o666);
      const r = await fetch("http://localhost/echo", { unix: path } as RequestInit);
      expect(((await r.json()) as { remoteAddr: unknown }).remoteAddr).toEqual({ hostname: "", port: 0 });
      await driver.ok({ op: "close", server });
      expect(existsSync(path)).toBe(false);
    });

    test("TLS with a plain key, and with an encrypted key and its passphrase", async () => {
      for (const tls of [
        { key, cert },
        { key: encryptedKey, cert, passphrase: "secret" },
      ]) {
        const { server, address, scheme } = await driver.serve({ listen: tcp(), tls });
        expect(scheme).toBe("https");
        const r = await fetch(`https://localhost:${address.port}/echo`, { tls: { ca: cert } } as RequestInit);
        expect(((await r.json()) as { url: string }).url).toBe(`https://localhost:${address.port}/echo`);
        // Plain HTTP to the TLS port: a failed handshake goes to onError; the server carries on.
        await driver.events();
        await exchange(address.port as number, "GET / HTTP/1.1\r\nHost: x");
        expect((await driver.events()).join("\n")).toContain("onError");
        expect(
          (await fetch(`https://localhost:${address.port}/bytes`, { tls: { ca: cert } } as RequestInit))
            .status,
        ).toBe(200);
        await driver.ok({ op: "close", server });
      }
    });

    test("reusePort: two listeners share a port on Node 22.12+, refused with the reason before", async () => {
      const listen = (port: number) => ({ kind: "tcp", host: "127.0.0.1", port, reusePort: true });
      if (version === "node20") {
        const answer = await driver.send({ op: "serve", listen: listen(0) });
        expect(answer.error?.name).toBe("ConfigError");
        expect(answer.error?.message).toContain("reusePort requires Node.js 22.12 or newer");
        return;
      }
      const first = await driver.serve({ listen: listen(0), tag: "one" });
      const port = first.address.port as number;
      const second = await driver.serve({ listen: listen(port), tag: "two" });
      const tags = new Set<string>();
      for (let i = 0; i < 100 && tags.size < 2; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/echo`, { headers: { connection: "close" } });
        await r.arrayBuffer();
        tags.add(r.headers.get("x-served-by") as string);
      }
      expect([...tags].sort()).toEqual(["one", "two"]);
      await Promise.all([first, second].map((s) => driver.ok({ op: "forceClose", server: s.server })));
    });

    test("IPv6 literal host", async () => {
      const { server, address } = await driver.serve({ listen: tcp(0, "::1") });
      expect(address.host).toBe("::1");
      const r = await fetch(`http://[::1]:${address.port}/echo`);
      expect(((await r.json()) as { remoteAddr: { hostname: string } }).remoteAddr.hostname).toBe("::1");
      await driver.ok({ op: "forceClose", server });
    });

    test("reservePort and bindSharedSocket: port 0 resolved, a busy port refused in uvicorn's words", async () => {
      const free = await driver.ok({ op: "reserve", host: "127.0.0.1", port: 0, hold: false });
      expect(free.port as number).toBeGreaterThan(0);
      expect(await canListen(free.port as number)).toBe(true); // not held without `hold`
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      const port = (blocker.address() as { port: number }).port;
      const expected = `[Errno 98] error while attempting to bind on address ('127.0.0.1', ${port}): address already in use`;
      try {
        for (const command of [
          { op: "reserve", host: "127.0.0.1", port, hold: true },
          { op: "share", listen: tcp(port) },
          { op: "serve", listen: tcp(port) },
        ]) {
          const answer = await driver.send(command);
          expect(answer.error).toEqual({ name: "ConfigError", message: expected });
        }
      } finally {
        blocker.close();
      }
    });

    test.if(version !== "node20")(
      "reservePort holds a port 0 with reusePort until released: others are refused, workers join",
      async () => {
        const reserved = await driver.ok({ op: "reserve", host: "127.0.0.1", port: 0, hold: true });
        const port = reserved.port as number;
        expect(await canListen(port)).toBe(false);
        const listen = { kind: "tcp", host: "127.0.0.1", port, reusePort: true };
        const { server } = await driver.serve({ listen });
        await driver.ok({ op: "release", reservation: reserved.reservation });
        const statuses = await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`http://127.0.0.1:${port}/echo`, { signal: AbortSignal.timeout(5000) }).then(
              (r) => r.status,
            ),
          ),
        );
        expect(statuses).toEqual(Array(20).fill(200));
        await driver.ok({ op: "forceClose", server });
      },
    );

    test("fd: serve on a parent-bound socket; it queues connections before anyone serves", async () => {
      const { fd, address } = (await driver.ok({ op: "share", listen: tcp() })) as unknown as {
        fd: number;
        address: Address;
      };
      expect(address.kind).toBe("tcp");
      // Nobody serves yet: the connection waits in the kernel's queue, then gets its answer.
      const early = fetch(`http://127.0.0.1:${address.port}/echo`).then((r) => r.status);
      await sleep(200);
      const { server, address: bound } = await driver.serve({ listen: { kind: "fd", fd } });
      // With where it listens, for the start-up line (as uvicorn prints the socket's getsockname()).
      expect(bound).toEqual({ kind: "fd", fd, tcp: { host: "127.0.0.1", port: address.port } });
      expect(await early).toBe(200);
      await driver.ok({ op: "close", server });
    });

    test("fd duplication just after the helper process left for idleness starts a new helper", async () => {
      const { fd } = (await driver.ok({ op: "share", listen: tcp() })) as unknown as { fd: number };
      const { fds } = (await driver.ok({ op: "dupAfterIdle", fd })) as unknown as { fds: number[] };
      expect(fds.length).toBe(2);
      await driver.ok({ op: "closeShared", fd });
    });

    test("threads on a shared socket: each has its own fd; one leaving does not hurt the others", async () => {
      const { fd, address } = (await driver.ok({ op: "share", listen: tcp() })) as unknown as {
        fd: number;
        address: Address;
      };
      const port = address.port as number;
      await driver.ok({ op: "threads", fd, tags: ["t0", "t1"] });
      const served = async (n: number) => {
        const tags = new Set<string>();
        for (let i = 0; i < n; i++) {
          const r = await fetch(`http://127.0.0.1:${port}/echo`, { headers: { connection: "close" } });
          await r.arrayBuffer();
          expect(r.status).toBe(200);
          tags.add(r.headers.get("x-served-by") as string);
        }
        return [...tags].sort();
      };
      // Every answer comes from a thread: the main thread never accepts on the shared socket.
      for (const tag of await served(20)) expect(["t0", "t1"]).toContain(tag);
      expect((await driver.ok({ op: "stopThread", tag: "t0" })).code).toBe(0);
      // Closing t0's server closed only t0's fd (with one fd for all, Node aborts here).
      expect(await served(20)).toEqual(["t1"]);
      await driver.ok({ op: "threads", fd, tags: ["t2"] });
      const tags = await served(30);
      for (const tag of tags) expect(["t1", "t2"]).toContain(tag);
      await driver.ok({ op: "stopThread", tag: "t1" });
      await driver.ok({ op: "stopThread", tag: "t2" });
      await driver.ok({ op: "closeShared", fd });
      await expect(fetch(`http://127.0.0.1:${port}/echo`)).rejects.toThrow();
    });

    test("threads on a shared unix socket", async () => {
      const path = join(dir, `${version}-shared.sock`);
      const { fd } = (await driver.ok({ op: "share", listen: { kind: "unix", path } })) as unknown as {
        fd: number;
      };
      expect(statSync(path).mode & 0o777).toBe(0o666);
      await driver.ok({ op: "threads", fd, tags: ["u0"] });
      const r = await fetch("http://localhost/echo", { unix: path } as RequestInit);
      expect(r.headers.get("x-served-by")).toBe("u0");
      await r.arrayBuffer();
      await driver.ok({ op: "stopThread", tag: "u0" });
      await driver.ok({ op: "closeShared", fd });
      expect(existsSync(path)).toBe(false);
    });

    test("importModule: a TypeScript app with extension-less, .js-for-.ts, index, enum, JSX (.tsx and .jsx) and its own node_modules", async () => {
      const app = join(dir, "tsapp", "main.ts");
      const { server, address } = await driver.serve({ listen: tcp(), app });
      const r = await fetch(`http://127.0.0.1:${address.port}/`);
      expect(await r.text()).toBe("hi blue! <b>x</b> <i>y</i>");
      await driver.events();
      expect((await fetch(`http://127.0.0.1:${address.port}/boom`)).status).toBe(500);
      // Source maps: the stack points at the line of main.ts that threw.
      const [event] = await driver.events();
      expect(event).toContain("boom from ts");
      expect(event).toContain("main.ts:9:");
      await driver.ok({ op: "forceClose", server });
    });

    test("importModule: a .jsx app", async () => {
      const app = join(dir, "tsapp", "badge.jsx");
      const { server, address } = await driver.serve({ listen: tcp(), app });
      expect(await (await fetch(`http://127.0.0.1:${address.port}/`)).text()).toBe("<i>jsx entry</i>");
      await driver.ok({ op: "forceClose", server });
    });

    test('importModule: JSON imported from TypeScript without `with { type: "json" }` (Node refuses it as written)', async () => {
      const app = join(dir, "tsapp", "json.ts");
      const { server, address } = await driver.serve({ listen: tcp(), app });
      expect(await (await fetch(`http://127.0.0.1:${address.port}/`)).text()).toBe("from json true");
      await driver.ok({ op: "forceClose", server });
    });

    test("importModule: a tsconfig.json that extends bases (relative, from a package, an array) gets their compilerOptions, paths with the base's baseUrl", async () => {
      const app = join(dir, "mono", "packages", "api", "main.tsx");
      const { server, address } = await driver.serve({ listen: tcp(), app });
      const r = await fetch(`http://127.0.0.1:${address.port}/`);
      expect(await r.text()).toBe("hello(id@0) <i>jsx</i> shared");
      await driver.ok({ op: "forceClose", server });
    });

    test("importModule: decorator metadata where the tsconfig asks for it, compiled by the app's TypeScript; without one, a clear refusal", async () => {
      // esbuild cannot emit it (evanw/esbuild#257): a NestJS app's injected services were undefined.
      const app = join(dir, "metadata", "with-typescript", "main.ts");
      const { server, address } = await driver.serve({ listen: tcp(), app });
      expect(await (await fetch(`http://127.0.0.1:${address.port}/`)).text()).toBe("Greeter,String");
      await driver.ok({ op: "forceClose", server });
      const bare = join(dir, "metadata", "without-typescript", "main.ts");
      await expect(driver.serve({ listen: tcp(), app: bare })).rejects.toThrow(
        `${bare}: its tsconfig.json sets emitDecoratorMetadata, which esbuild (tsuv's TypeScript compiler on Node.js) cannot emit (evanw/esbuild#257); tsuv compiles such files with the app's own TypeScript, and none is installed here: npm install --save-dev typescript`,
      );
    });

    test("importModule: bare imports mapped by the tsconfig's paths, relative to the tsconfig without a baseUrl", async () => {
      const app = join(dir, "mono", "packages", "api", "src", "aliased.ts");
      const { server, address } = await driver.serve({ listen: tcp(), app });
      expect(await (await fetch(`http://127.0.0.1:${address.port}/`)).text()).toBe("shared util");
      await driver.ok({ op: "forceClose", server });
    });
  });
}
