// The shared behaviour suite against a real tsuv on deno.
import { describe } from "bun:test";
import { behaviourSuite } from "./suite.ts";

describe("deno", () => behaviourSuite("deno"));
