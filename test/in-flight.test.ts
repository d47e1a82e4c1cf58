import { describe, expect, test } from "bun:test";
import { InFlight } from "../src/in-flight.ts";

describe("InFlight", () => {
  test("lists what is in flight in arrival order, whichever entries leave (first, last, middle)", () => {
    const list = new InFlight<string>();
    const a = list.add("a");
    const b = list.add("b");
    const c = list.add("c");
    const d = list.add("d");
    const e = list.add("e");
    expect([...list]).toEqual(["a", "b", "c", "d", "e"]);
    list.delete(a);
    list.delete(e);
    list.delete(c);
    expect([...list]).toEqual(["b", "d"]);
    list.add("f");
    expect([...list]).toEqual(["b", "d", "f"]);
    list.delete(b);
    list.delete(d);
    expect([...list]).toEqual(["f"]);
  });

  test("an entry deleted twice leaves the others alone; emptied, the list takes new entries", () => {
    const list = new InFlight<number>();
    const one = list.add(1);
    list.add(2);
    list.delete(one);
    list.delete(one);
    expect([...list]).toEqual([2]);
    const entries = [list.add(3), list.add(4)];
    for (const entry of entries) list.delete(entry);
    expect([...list]).toEqual([2]);
  });

  test("empty: iterates nothing", () => {
    const list = new InFlight<string>();
    const entry = list.add("x");
    list.delete(entry);
    expect([...list]).toEqual([]);
    list.add("y");
    expect([...list]).toEqual(["y"]);
  });
});
