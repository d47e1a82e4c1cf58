/**
 * POSIX path resolution and file URLs without node:path and node:url, for Deno's start path: the
 * first node:* module a Deno 2.9 program loads starts Deno's Node compatibility layer, ~30 ms of
 * exec-to-first-200 (hyperfine: a Deno.serve file 95.0 ms, the same with `import "node:process"`
 * 125.8 ms). Elsewhere (Node, Bun, Windows) callers use node:path and node:url; tests check that
 * both give the same answers.
 */

/** path.posix.resolve(cwd, ...parts): the last absolute part wins, then `.`/`..` are folded. */
export function posixResolve(cwd: string, ...parts: string[]): string {
  let joined = "";
  for (let i = parts.length - 1; i >= -1 && !joined.startsWith("/"); i--) {
    const part = i >= 0 ? (parts[i] as string) : cwd;
    if (part === "") continue;
    joined = joined === "" ? part : `${part}/${joined}`;
  }
  const segments: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/**
 * url.pathToFileURL(absolutePath).href for a POSIX path. The URL pathname setter already encodes
 * what a path may not hold (space, `?`, `#` ...); `%`, `\` and tab/newline/CR need doing first,
 * since the setter would keep `%`, read `\` as `/` and drop the others.
 */
export function posixFileUrl(absolutePath: string): string {
  const url = new URL("file:///");
  url.pathname = absolutePath
    .replaceAll("%", "%25")
    .replaceAll("\\", "%5C")
    .replaceAll("\t", "%09")
    .replaceAll("\n", "%0A")
    .replaceAll("\r", "%0D");
  return url.href;
}
