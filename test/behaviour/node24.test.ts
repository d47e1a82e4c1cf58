// The shared behaviour suite against a real tsuv on node24.
import { describe } from "bun:test";
import { behaviourSuite } from "./suite.ts";

describe("node24", () => behaviourSuite("node24"));
