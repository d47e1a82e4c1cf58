// The shared behaviour suite against a real tsuv on bun.
import { describe } from "bun:test";
import { behaviourSuite } from "./suite.ts";

describe("bun", () => behaviourSuite("bun"));
