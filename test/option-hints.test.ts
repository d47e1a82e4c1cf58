// src/option-hints.ts: an unknown flag gets a reason (uvicorn's flags) or the closest known flag.
import { expect, test } from "bun:test";
import { closestFlag, unknownOptionMessage } from "../src/option-hints.ts";

const KNOWN = ["--workers", "--worker-class", "--reload", "--reload-dir", "--port", "--host", "-w"];

test("a typo gets the closest flag; something far from every flag gets none", () => {
  expect(closestFlag("--wrokers", KNOWN)).toBe("--workers");
  expect(closestFlag("--worker", KNOWN)).toBe("--workers");
  expect(closestFlag("--reload-dirs", KNOWN)).toBe("--reload-dir");
  expect(closestFlag("--hots", KNOWN)).toBe("--host");
  expect(closestFlag("--prot", KNOWN)).toBe("--port");
  expect(closestFlag("--bogus", KNOWN)).toBeUndefined();
  expect(closestFlag("-x", KNOWN)).toBeUndefined();
});

test("uvicorn's flags without an equivalent say why, in one line", () => {
  const flags = [
    "--loop",
    "--http",
    "--log-config",
    "--ssl-version",
    "--ws-max-queue",
    "--h11-max-incomplete-event-size",
    // uvicorn 0.54's
    "--http2",
    "--reset-contextvars",
  ];
  for (const flag of flags) {
    const message = unknownOptionMessage(flag, KNOWN);
    expect(message).toStartWith(`No such option: ${flag}: `);
    expect(message).not.toContain("\n");
  }
  // The way to raise the head size limit, pinned on every runtime by header-size-limit.test.ts.
  const headLimit = unknownOptionMessage("--h11-max-incomplete-event-size", KNOWN);
  expect(headLimit).toContain("NODE_OPTIONS=--max-http-header-size=");
  expect(headLimit).toContain("BUN_OPTIONS=--max-http-header-size=");
  expect(unknownOptionMessage("--wrokers", KNOWN)).toBe("No such option: --wrokers. Did you mean --workers?");
  expect(unknownOptionMessage("--bogus", KNOWN)).toBe("No such option: --bogus");
});
