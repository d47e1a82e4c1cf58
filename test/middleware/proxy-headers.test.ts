import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import {
  applyProxyHeaders,
  createTrustedHosts,
  validateForwardedAllowIps,
} from "../../src/middleware/proxy-headers.ts";

const peer = (hostname: string, port = 40000) => ({ hostname, port });
const request = (headers: Record<string, string> = {}) => new Request("http://localhost/", { headers });

describe("createTrustedHosts", () => {
  test("exact IPv4 and IPv6 addresses, in any spelling", () => {
    const trusted = createTrustedHosts("127.0.0.1, 2001:db8::1");
    expect(trusted.has("127.0.0.1")).toBe(true);
    expect(trusted.has("127.0.0.2")).toBe(false);
    expect(trusted.has("2001:db8::1")).toBe(true);
    expect(trusted.has("2001:0db8:0000:0000:0000:0000:0000:0001")).toBe(true);
    expect(trusted.has("[2001:db8::1]")).toBe(true);
    expect(trusted.has("2001:db8::2")).toBe(false);
  });

  test("IPv4-mapped IPv6 peers match their IPv4 form", () => {
    const trusted = createTrustedHosts("127.0.0.1");
    expect(trusted.has("::ffff:127.0.0.1")).toBe(true);
    expect(trusted.has("::ffff:7f00:1")).toBe(true);
    expect(trusted.has("::ffff:127.0.0.2")).toBe(false);
  });

  test("IPv4 CIDRs", () => {
    const trusted = createTrustedHosts("10.0.0.0/8,192.168.1.0/24,172.16.5.4/32");
    expect(trusted.has("10.255.1.2")).toBe(true);
    expect(trusted.has("11.0.0.1")).toBe(false);
    expect(trusted.has("192.168.1.77")).toBe(true);
    expect(trusted.has("192.168.2.1")).toBe(false);
    expect(trusted.has("172.16.5.4")).toBe(true);
    expect(trusted.has("172.16.5.5")).toBe(false);
    expect(trusted.has("::ffff:10.1.1.1")).toBe(true);
  });

  test("high-bit IPv4 ranges and /0", () => {
    expect(createTrustedHosts("255.255.255.0/24").has("255.255.255.9")).toBe(true);
    expect(createTrustedHosts("128.0.0.0/1").has("200.1.1.1")).toBe(true);
    expect(createTrustedHosts("128.0.0.0/1").has("127.1.1.1")).toBe(false);
    expect(createTrustedHosts("0.0.0.0/0").has("8.8.8.8")).toBe(true);
    expect(createTrustedHosts("0.0.0.0/0").has("::1")).toBe(false);
  });

  test("IPv6 CIDRs", () => {
    const trusted = createTrustedHosts("fd00::/8, 2001:db8:abcd::/48, 2001:db8:1:2::/63");
    expect(trusted.has("fd12:3456::1")).toBe(true);
    expect(trusted.has("fe80::1")).toBe(false);
    expect(trusted.has("2001:db8:abcd:ffff::1")).toBe(true);
    expect(trusted.has("2001:db8:abce::1")).toBe(false);
    expect(trusted.has("2001:db8:1:3::1")).toBe(true);
    expect(trusted.has("2001:db8:1:4::1")).toBe(false);
    expect(trusted.has("10.0.0.1")).toBe(false);
  });

  test("host bits in a CIDR are masked; a v4-mapped network works for IPv4 peers", () => {
    expect(createTrustedHosts("10.1.2.3/8").has("10.9.9.9")).toBe(true);
    expect(createTrustedHosts("::ffff:10.0.0.0/104").has("10.200.0.1")).toBe(true);
  });

  test("* trusts everything", () => {
    const trusted = createTrustedHosts("*");
    expect(trusted.all).toBe(true);
    expect(trusted.has("8.8.8.8")).toBe(true);
    expect(trusted.has("")).toBe(true);
  });

  test("an empty spec trusts nothing; garbage peers are never trusted", () => {
    expect(createTrustedHosts("").has("127.0.0.1")).toBe(false);
    const trusted = createTrustedHosts("127.0.0.1");
    for (const host of ["", "localhost", "127.0.0.1.1", "unix", "::g"]) expect(trusted.has(host)).toBe(false);
  });
});

describe("validateForwardedAllowIps", () => {
  test("accepts addresses, networks, * and stray commas", () => {
    for (const spec of ["127.0.0.1", "*", "10.0.0.0/8, ::1, fd00::/8", "", "1.2.3.4,", "fe80::1%eth0"]) {
      expect(() => validateForwardedAllowIps(spec)).not.toThrow();
    }
  });

  test("refuses garbage with a message naming the entry and the flag", () => {
    const cases = [
      "localhost",
      "1.2.3",
      "256.0.0.1",
      "10.0.0.0/33",
      "::1/129",
      "1.2.3.4/x",
      "01.2.3.4",
      "1::2::3",
      "a:b",
    ];
    for (const spec of cases) {
      expect(() => validateForwardedAllowIps(`127.0.0.1, ${spec}`)).toThrow(UsageError);
      expect(() => validateForwardedAllowIps(`127.0.0.1, ${spec}`)).toThrow(
        `Invalid value for '--forwarded-allow-ips': '${spec}' is not an IP address, a CIDR network or '*'.`,
      );
    }
  });

  test("names the environment variable when the value came from there", () => {
    expect(() => validateForwardedAllowIps("nope", "FORWARDED_ALLOW_IPS")).toThrow("'FORWARDED_ALLOW_IPS'");
  });

  test("createTrustedHosts refuses the same garbage", () => {
    expect(() => createTrustedHosts("nope")).toThrow(UsageError);
  });
});

describe("applyProxyHeaders", () => {
  const local = createTrustedHosts("127.0.0.1");

  test("untrusted peer: headers ignored", () => {
    const req = request({ "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" });
    expect(applyProxyHeaders(req, peer("10.0.0.9"), local)).toEqual({
      client: peer("10.0.0.9"),
      scheme: null,
    });
  });

  test("untrusted peer: headers are not even read", () => {
    let reads = 0;
    const headers = {
      get: () => {
        reads++;
        return "1.2.3.4";
      },
    };
    applyProxyHeaders({ headers } as unknown as Request, peer("10.0.0.9"), local);
    expect(reads).toBe(0);
  });

  test("trusted peer without headers keeps the peer, one get per header", () => {
    const names: string[] = [];
    const headers = {
      get: (name: string) => {
        names.push(name);
        return null;
      },
    };
    expect(applyProxyHeaders({ headers } as unknown as Request, peer("127.0.0.1"), local)).toEqual({
      client: peer("127.0.0.1"),
      scheme: null,
    });
    expect(names.sort()).toEqual(["x-forwarded-for", "x-forwarded-proto"]);
  });

  test("trusted peer: client from X-Forwarded-For (port 0), scheme from X-Forwarded-Proto", () => {
    const req = request({ "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https" });
    expect(applyProxyHeaders(req, peer("127.0.0.1"), local)).toEqual({
      client: { hostname: "203.0.113.7", port: 0 },
      scheme: "https",
    });
  });

  test("the right-most untrusted entry wins", () => {
    const trusted = createTrustedHosts("127.0.0.1, 10.0.0.0/8");
    const req = request({ "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2, 10.0.0.3" });
    expect(applyProxyHeaders(req, peer("10.0.0.1"), trusted).client).toEqual({
      hostname: "203.0.113.7",
      port: 0,
    });
  });

  test("all entries trusted: the left-most", () => {
    const trusted = createTrustedHosts("10.0.0.0/8");
    const req = request({ "x-forwarded-for": "10.0.0.5, 10.0.0.6" });
    expect(applyProxyHeaders(req, peer("10.0.0.1"), trusted).client).toEqual({
      hostname: "10.0.0.5",
      port: 0,
    });
  });

  test("* takes the left-most entry", () => {
    const req = request({ "x-forwarded-for": "198.51.100.1, 203.0.113.7" });
    expect(applyProxyHeaders(req, peer("8.8.8.8"), createTrustedHosts("*")).client).toEqual({
      hostname: "198.51.100.1",
      port: 0,
    });
  });

  test("IPv6 entries, ports and brackets", () => {
    const cases: [string, { hostname: string; port: number }][] = [
      ["2001:db8::7", { hostname: "2001:db8::7", port: 0 }],
      ["[2001:db8::7]", { hostname: "2001:db8::7", port: 0 }],
      ["[2001:db8::7]:8443", { hostname: "2001:db8::7", port: 8443 }],
      ["203.0.113.7:5000", { hostname: "203.0.113.7", port: 5000 }],
    ];
    for (const [header, client] of cases) {
      expect(
        applyProxyHeaders(request({ "x-forwarded-for": header }), peer("127.0.0.1"), local).client,
      ).toEqual(client);
    }
  });

  test("a trusted IPv4-mapped peer (Node on a dual-stack socket)", () => {
    const req = request({ "x-forwarded-for": "203.0.113.7" });
    expect(applyProxyHeaders(req, peer("::ffff:127.0.0.1"), local).client.hostname).toBe("203.0.113.7");
  });

  test("garbage X-Forwarded-For values are ignored, never read past", () => {
    for (const header of [
      "",
      " ",
      "unknown",
      "203.0.113.7, unknown",
      "1.2.3.4,",
      "[::1",
      "1.2.3.4:99999",
      "1.2.3.4:x",
    ]) {
      const result = applyProxyHeaders(request({ "x-forwarded-for": header }), peer("127.0.0.1"), local);
      expect(result.client).toEqual(peer("127.0.0.1"));
    }
  });

  test("garbage to the left of the client does not matter", () => {
    const req = request({ "x-forwarded-for": "unknown, 203.0.113.7" });
    expect(applyProxyHeaders(req, peer("127.0.0.1"), local).client.hostname).toBe("203.0.113.7");
  });

  test("only http, https, ws, wss are accepted as the scheme", () => {
    const scheme = (value: string) =>
      applyProxyHeaders(request({ "x-forwarded-proto": value }), peer("127.0.0.1"), local).scheme;
    expect(scheme("http")).toBe("http");
    expect(scheme(" https ")).toBe("https");
    expect(scheme("HTTPS")).toBe("https");
    expect(scheme("ws")).toBe("ws");
    expect(scheme("wss")).toBe("wss");
    for (const bad of ["ftp", "", "https, ftp", "https,", "javascript", "h t t p"])
      expect(scheme(bad)).toBeNull();
  });

  test("several X-Forwarded-Proto lines: the last one, as uvicorn reads them (they arrive joined by ', ')", () => {
    const headers = (...values: string[]) => {
      const list = new Headers();
      for (const value of values) list.append("x-forwarded-proto", value);
      return new Request("http://localhost/", { headers: list });
    };
    const scheme = (...values: string[]) =>
      applyProxyHeaders(headers(...values), peer("127.0.0.1"), local).scheme;
    expect(scheme("https", "https")).toBe("https");
    expect(scheme("ftp", "https")).toBe("https");
    expect(scheme("https", "ws")).toBe("ws");
    expect(scheme("https", " HTTP ")).toBe("http");
    expect(scheme("https", "ftp")).toBeNull();
    // One line listing several is read the same way (uvicorn ignores it; Werkzeug's ProxyFix reads it so).
    expect(scheme("http, https")).toBe("https");
  });

  test("never throws on odd input", () => {
    const weird = ["\u00ff\u00fe", ",,,,", ":::::", "[]:1", "[1.2.3.4]", "1.2.3.4/8", "x".repeat(10000)];
    for (const header of weird) {
      expect(() =>
        applyProxyHeaders(
          request({ "x-forwarded-for": header, "x-forwarded-proto": header }),
          peer("127.0.0.1"),
          local,
        ),
      ).not.toThrow();
    }
    expect(() => applyProxyHeaders(request(), peer(""), local)).not.toThrow();
  });
});
