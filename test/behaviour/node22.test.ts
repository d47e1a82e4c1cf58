// The shared behaviour suite against a real tsuv on node22.
import { describe } from "bun:test";
import { behaviourSuite } from "./suite.ts";

describe("node22", () => behaviourSuite("node22"));
