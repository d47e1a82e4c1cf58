/**
 * The tools the benchmark needs from Debian (wrk, hyperfine, python3-uvicorn): find them, and
 * install them with apt-get only when allowed and running as root, printing exactly what runs.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

const isRoot = () => process.getuid?.() === 0;
let aptUpdated = false;

function apt(pkg: string): boolean {
  const steps = [...(aptUpdated ? [] : [["apt-get", "update"]]), ["apt-get", "install", "-y", pkg]];
  for (const step of steps) {
    console.log(`$ ${step.join(" ")}`);
    const result = spawnSync(step[0] as string, step.slice(1), {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (result.status !== 0) {
      console.log(`${step.join(" ")} failed (exit ${result.status ?? result.signal})`);
      return false;
    }
    if (step[1] === "update") aptUpdated = true;
  }
  return true;
}

/**
 * Make sure a Debian-packaged command exists. Returns its path, or undefined after printing how to
 * install it (not root, or installs disallowed with --no-install).
 */
export function ensureCommand(
  command: string,
  pkg: string,
  allowInstall: boolean,
  why: string,
): string | undefined {
  const found = which(command);
  if (found) return found;
  if (allowInstall && isRoot()) {
    console.log(`${command} is not installed (${why}); installing the Debian package ${pkg}:`);
    if (apt(pkg)) return which(command);
  }
  console.log(
    `${command} is not installed (${why}). Install it with: sudo apt-get install -y ${pkg}` +
      (allowInstall ? "" : " (installs disabled by --no-install)"),
  );
  return undefined;
}

function uvicornVersion(python: string): string | undefined {
  const result = spawnSync(python, ["-c", "import uvicorn; print(uvicorn.__version__)"], {
    encoding: "utf8",
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * A Python that can import uvicorn: the one on PATH (pyenv, a venv) or Debian's /usr/bin/python3,
 * where python3-uvicorn installs. With `install` (--with-uvicorn) and root, apt-get installs it.
 */
export function findUvicorn(install: boolean): { python: string; version: string } | undefined {
  const candidates = [which("python3"), "/usr/bin/python3"].filter((p): p is string => Boolean(p));
  for (const python of candidates) {
    const version = uvicornVersion(python);
    if (version) return { python, version };
  }
  if (install) {
    if (!isRoot()) {
      console.log("uvicorn is not installed. Install it with: sudo apt-get install -y python3-uvicorn");
      return undefined;
    }
    console.log("uvicorn is not installed (--with-uvicorn); installing the Debian package python3-uvicorn:");
    if (apt("python3-uvicorn")) {
      const version = uvicornVersion("/usr/bin/python3");
      if (version) return { python: "/usr/bin/python3", version };
    }
  }
  return undefined;
}
