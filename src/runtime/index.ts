/**
 * Picks the adapter for the runtime that is running, and the process-level I/O the entry points
 * need. The adapters are imported lazily so each runtime only evaluates its own file.
 */
import { existsSync } from "node:fs";
import process from "node:process";
import type { RuntimeAdapter } from "./adapter.ts";
import { detectRuntime } from "./detect.ts";

export async function loadAdapter(): Promise<RuntimeAdapter> {
  switch (detectRuntime().name) {
    case "bun":
      return (await import("./bun.ts")).createAdapter();
    case "deno":
      return (await import("./deno.ts")).createAdapter();
    default:
      return (await import("./node.ts")).createAdapter();
  }
}

export interface ProcessIO {
  /** The user's arguments, without the runtime and script. */
  argv: string[];
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  isTTY: boolean;
  noColor: boolean;
  exists: (path: string) => boolean;
}

export function processIO(): ProcessIO {
  return {
    argv: process.argv.slice(2),
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    isTTY: Boolean(process.stdout.isTTY),
    noColor: process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "",
    exists: existsSync,
  };
}
