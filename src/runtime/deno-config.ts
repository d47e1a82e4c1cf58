/**
 * The app's own deno.json, which Deno does not read under tsuv. Deno takes its configuration
 * (import map, compilerOptions, nodeModulesDir...) from the deno.json nearest its main module, or
 * from a workspace root above that, never from the working directory. Under `deno run
 * /opt/tsuv/src/cli.ts app.ts` the main module is tsuv's, so an app beside a deno.json of its own
 * loaded without it: `Import "hono" not a dependency and not in import map` for a bare import that
 * `deno add` wrote there, a syntax error for a decorator its compilerOptions allow (a tsconfig.json
 * beside a package.json, which Deno also reads, the same). `--config` is no way out: then tsuv's
 * own imports (deno.json "imports") are not read. What works is a workspace with tsuv as a member
 * (docs/deployment.md), which this check sees as read.
 */

import { dottedModulePath, moduleCandidates, parseAppSpec } from "../app.ts";
import { posixResolve } from "./paths.ts";

const CONFIG_NAMES = ["deno.json", "deno.jsonc"] as const;

/** The part of Deno's API used here (declared locally so tsc and deno check agree on this file). */
declare const Deno: {
  readonly mainModule: string;
  readonly build: { readonly os: string };
  cwd(): string;
  statSync(path: string): { isFile: boolean };
  readTextFileSync(path: string): string;
  permissions: { querySync(descriptor: { name: "read"; path: string }): { state: string } };
};

/** What the check needs of Deno (passed in, so tests can hand a fake). */
export interface ConfigFs {
  /** May this process read `path` without asking? (Deno would prompt for it in a terminal.) */
  mayRead(path: string): boolean;
  isFile(path: string): boolean;
  /** The file's text, or "" when it cannot be read. */
  readText(path: string): string;
}

/** `dir` and each directory above it, nearest first. */
function selfAndAncestors(dir: string): string[] {
  const dirs: string[] = [];
  for (let current = dir; ; current = posixResolve(current, "..")) {
    dirs.push(current);
    if (current === "/") return dirs;
  }
}

const readable = (path: string, fs: ConfigFs) => fs.mayRead(path) && fs.isFile(path);

/**
 * The configuration Deno would take from `dir`: its deno.json(c), or a tsconfig.json beside a
 * package.json (Deno reads that one too) when it changes how files compile (JSX, decorators) and
 * `compiled` says the app is a file that compiles.
 */
function configIn(dir: string, fs: ConfigFs, compiled: () => boolean): string | null {
  const at = (name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
  for (const name of CONFIG_NAMES) {
    if (readable(at(name), fs)) return at(name);
  }
  const tsconfig = at("tsconfig.json");
  if (readable(at("package.json"), fs) && readable(tsconfig, fs) && compiled()) {
    if (/"(?:jsx\w*|experimentalDecorators)"\s*:/.test(fs.readText(tsconfig))) return tsconfig;
  }
  return null;
}

/**
 * The configuration (configIn) nearest the app's directory, when Deno is not reading it for this
 * process: it is neither the one nearest the main module nor a workspace root above that one. Null
 * when there is none, or when it is read. POSIX paths. `compiledApp`: is the app module TypeScript
 * or JSX, to which a tsconfig.json's JSX and decorator settings apply? Asked only where such a
 * tsconfig.json is found (it looks for the app's file): an app that is JavaScript (tsc's own
 * output, `tsuv dist/main.js` beside the tsconfig.json that built it) gets no warning about a
 * tsconfig.json, where it would be noise on every start.
 */
export function unreadAppConfig(
  appDir: string,
  mainModuleDir: string,
  fs: ConfigFs,
  compiledApp: () => boolean = () => true,
): string | null {
  let appConfig: string | null = null;
  for (const dir of selfAndAncestors(appDir)) {
    appConfig = configIn(dir, fs, compiledApp);
    if (appConfig !== null) break;
  }
  if (appConfig === null) return null;
  let nearestMain = true;
  for (const dir of selfAndAncestors(mainModuleDir)) {
    const config = configIn(dir, fs, compiledApp);
    if (config === null) continue;
    // Above the nearest one, Deno reads a config only as a workspace root (which would list the
    // nearer one's directory as a member: not checked further).
    if (config === appConfig)
      return nearestMain || /"workspace"\s*:/.test(fs.readText(config)) ? null : appConfig;
    nearestMain = false;
  }
  return appConfig;
}

/**
 * The directory part of APP's module ("src/main:app" -> "src"; uvicorn's dotted "app.main:app" ->
 * "app"), relative to --app-dir. Where a file named with the dots is what is served (app.main.ts
 * comes before app/main.ts, app.ts's moduleCandidates), walking up from app/ finds what walking up
 * from its own directory does, unless app/ holds a configuration of its own.
 */
export function appModuleDir(app: string): string {
  const colon = app.indexOf(":");
  const written = colon === -1 ? app : app.slice(0, colon);
  const module = dottedModulePath(written) ?? written;
  const slash = module.lastIndexOf("/");
  return slash === -1 ? "." : module.slice(0, slash) || "/";
}

/** Files whose compiling a tsconfig.json's JSX and decorator settings change. */
const COMPILED = /\.(?:[cm]?ts|[jt]sx)$/;

/**
 * Is APP's module (the first candidate that is a file, as importApp takes it) TypeScript or JSX?
 * True where it cannot be told (not found, a malformed APP): the load reports those itself, and a
 * warning too many is the lesser harm there.
 */
export function appCompiles(app: string, appDir: string, isFile: (path: string) => boolean): boolean {
  let module: string;
  try {
    module = parseAppSpec(app).module;
  } catch {
    return true;
  }
  const file = moduleCandidates(module, appDir, posixResolve).find(isFile);
  return file === undefined || COMPILED.test(file);
}

/** Names a configuration file on Deno's command line (`--config FILE`, `-c FILE`, `--config=FILE`)? */
export function namesConfig(runtimeArgs: readonly string[]): boolean {
  return runtimeArgs.some((arg) => /^(?:--config|-c)(?:=|$)/.test(arg));
}

export function unreadAppConfigWarning(appConfig: string, mainModulePath: string): string {
  const slash = appConfig.lastIndexOf("/");
  const dir = appConfig.slice(0, slash);
  const name = appConfig.slice(slash + 1);
  const what =
    name === "tsconfig.json" ? "its compilerOptions do" : "the app's imports and compilerOptions do";
  const denoJson = name === "tsconfig.json" ? `${dir}/deno.json` : "that file";
  return `The app's ${appConfig} is not read: Deno reads the configuration beside its main module, here ${mainModulePath}, so ${what} not apply. To have it read, put tsuv (or a link to it) at ${dir}/tsuv, and add "workspace": ["./tsuv"] and "unstable": ["net", "no-legacy-abort", "detect-cjs"] to ${denoJson} (docs/deployment.md).`;
}

/**
 * The start-up warning for this Deno process serving APP from --app-dir, or null. `runtimeArgs`
 * gives Deno's command line where it can be read (only under -A; read only once a config was
 * found): a `--config` there was the user's choice, and is left alone.
 */
export function denoAppConfigWarning(
  appDir: string,
  app: string,
  runtimeArgs: () => readonly string[] | undefined,
): string | null {
  const main = new URL(Deno.mainModule);
  // A remote main module (jsr:, https:): Deno then reads the working directory's deno.json.
  if (main.protocol !== "file:" || Deno.build.os === "windows") return null;
  const mainModulePath = decodeURIComponent(main.pathname);
  const fs: ConfigFs = {
    mayRead: (path) => Deno.permissions.querySync({ name: "read", path }).state === "granted",
    isFile: (path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    },
    readText: (path) => {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        return "";
      }
    },
  };
  const appDirectory = posixResolve(Deno.cwd(), appDir, appModuleDir(app));
  let compiled: boolean | undefined;
  const compiledApp = () => {
    compiled ??= appCompiles(app, posixResolve(Deno.cwd(), appDir), fs.isFile);
    return compiled;
  };
  const found = unreadAppConfig(appDirectory, posixResolve(mainModulePath, ".."), fs, compiledApp);
  if (found === null) return null;
  const args = runtimeArgs();
  if (args !== undefined && namesConfig(args)) return null;
  return unreadAppConfigWarning(found, mainModulePath);
}
