/**
 * `tsuv --help` (src/help.ts): every option of the table, grouped by section, wrapped within 80
 * columns and plain text, so `tsuv --help | less` and a narrow terminal read as uvicorn's does.
 * Driven through the real CLI on every runtime: the text is the same everywhere.
 */
import { describe, expect, test } from "bun:test";
import { optionSynopsis, renderHelp, wrap } from "../src/help.ts";
import { OPTIONS, type OptionSpec } from "../src/options.ts";
import { VERSION } from "../src/version.ts";
import { RUNTIMES, runTsuv } from "./helpers/tsuv.ts";

const help = renderHelp("Serve a fetch-handler app.", VERSION);
const lines = help.split("\n");

test("every option of the table appears once, as its synopsis, in its section", () => {
  const sections = lines.filter((line) => /^\S.*:$/.test(line)).map((line) => line.slice(0, -1));
  const groups = [...new Set(Object.values(OPTIONS).map((spec) => spec.group))];
  expect(sections).toEqual(groups);
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    if (spec.type === "positional") continue;
    const synopsis = optionSynopsis(name, spec);
    const isRow = (line: string) => line === `  ${synopsis}` || line.startsWith(`  ${synopsis}  `);
    const at = lines.findIndex(isRow);
    expect(at).toBeGreaterThan(0);
    expect(lines.filter(isRow)).toHaveLength(1);
    const heading = lines.slice(0, at).findLast((line) => /^\S.*:$/.test(line));
    expect(heading).toBe(`${spec.group}:`);
  }
});

test("fits 80 columns, carries no escape codes or trailing blanks", () => {
  for (const line of lines) {
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line.includes("\u001b")).toBe(false);
    expect(line).not.toMatch(/\s$/);
  }
});

test("flags are written as click writes uvicorn's, defaults shown on one line", () => {
  expect(help).toContain("Usage: tsuv [OPTIONS] APP");
  expect(help).toMatch(/^ {2}--port INTEGER {2,}Bind socket to this port\./m);
  expect(help).toContain("  --worker-class [process|thread]\n");
  expect(help).toContain("  --access-log / --no-access-log ");
  expect(help).toContain("  --use-colors / --no-use-colors ");
  expect(help).toMatch(/^ {2}--reload {2,}Enable auto-reload\.$/m);
  expect(help).toContain("  --header NAME:VALUE ");
  expect(help).toContain("  -h, --help ");
  expect(help).toMatch(/\[default: 127\.0\.0\.1\]$/m);
  expect(help).toMatch(/\[default: on\]$/m);
  expect(help).not.toContain("[default: false]");
  // A flag wider than the column gets a line of its own, the description below it.
  const long = lines.indexOf("  --timeout-worker-healthcheck FLOAT");
  expect(lines[long + 1]).toMatch(/^ {20,}Seconds a worker may go/);
  // Descriptions start in one column throughout.
  const starts = new Set(
    lines.map((line) => line.match(/^( {2}-\S.*? {2,})\S/)?.[1]?.length).filter((at) => at !== undefined),
  );
  expect(starts.size).toBe(1);
});

test("wrap keeps words whole and lines within the width", () => {
  expect(wrap("aa bb cc dd", 5)).toEqual(["aa bb", "cc dd"]);
  expect(wrap("  one   two ", 80)).toEqual(["one two"]);
  expect(wrap("short averyveryverylongword end", 8)).toEqual(["short", "averyveryverylongword", "end"]);
  expect(wrap("", 10)).toEqual([]);
});

describe.each(RUNTIMES)("tsuv --help on %s", (runtime) => {
  test("prints the same plain text to a pipe and exits 0", async () => {
    const { code, stdout, stderr } = await runTsuv(runtime, ["--help"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.trimEnd()).toBe(renderHelp("Serve a fetch-handler app on Node.js, Bun or Deno.", VERSION));
  });
});
