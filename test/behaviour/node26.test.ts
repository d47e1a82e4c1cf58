// The shared behaviour suite against a real tsuv on node26.
import { describe } from "bun:test";
import { behaviourSuite } from "./suite.ts";

describe("node26", () => behaviourSuite("node26"));
