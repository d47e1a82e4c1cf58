// Writes a build output so that a process reading it meanwhile sees the old file or the new one,
// never a half-written one. `npm pack` (test/ship.test.ts) rebuilds dist/ through `prepare` while
// other test files run `node dist/cli.mjs`: esbuild's in-place writes (truncate, then write) let
// one of them import an empty dist/cli.mjs, which ran nothing and exited 0 (seen twice in CI as
// "bad format: expected exit 3, got 0"). An unchanged file is left alone (same inode, same mtime).
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";

/** Replace `path` with `contents` by rename(2); a no-op where it already holds them. */
export function replaceFile(path, contents, mode) {
  const bytes = Buffer.from(contents);
  let current;
  try {
    current = readFileSync(path);
  } catch {
    current = undefined;
  }
  if (current?.equals(bytes)) {
    if (mode !== undefined) chmodSync(path, mode);
    return false;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  if (mode !== undefined) chmodSync(temporary, mode);
  renameSync(temporary, path);
  return true;
}
