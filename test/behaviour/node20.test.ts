// The shared behaviour suite against a real tsuv on node20.
import { describe } from "bun:test";
import { behaviourSuite } from "./suite.ts";

describe("node20", () => behaviourSuite("node20"));
