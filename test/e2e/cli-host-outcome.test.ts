// `mono-auth host bootstrap` when the redemption's outcome is unknown: the
// key it generated may be the only key of a client the server created, so
// the credentials file stays; only a refusal (4xx) removes it. The CLI runs
// in process here, with the network it talks to stood in for (a connection
// lost mid-request, an answer cut short), which no real server does on cue.
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnsecuredJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { run } from "../../cli/main.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";

const ISSUER = "http://127.0.0.1:9";
const BOOTSTRAP = `${ISSUER}${ENDPOINT.hostBootstrap}`;

/** The issuer's metadata, then `redeem` for the bootstrap POST. */
function network(redeem: () => Promise<Response>) {
  return vi.fn(async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith(ENDPOINT.authorizationServerMetadata)) {
      return Response.json({ issuer: ISSUER, host_bootstrap_endpoint: BOOTSTRAP });
    }
    return redeem();
  });
}

async function bootstrap(redeem: () => Promise<Response>) {
  vi.stubGlobal("fetch", network(redeem));
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const out = join(mkdtempSync(join(tmpdir(), "host-outcome-")), "host.json");
  const invite = new UnsecuredJWT({ jti: "inv-1" }).setIssuer(ISSUER).encode();
  const code = await run(["node", "mono-auth", "host", "bootstrap", "--invite", invite, "--out", out, "--json"]);
  return { code, out };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("host bootstrap: an unknown outcome keeps the key", () => {
  it("a connection lost during the redemption: exit 1, the pending file with its private key stays", async () => {
    const { code, out } = await bootstrap(() => Promise.reject(new TypeError("socket hang up")));
    expect(code).toBe(1);
    const kept = JSON.parse(readFileSync(out, "utf8")) as { status: string; private_jwk: { d?: string } };
    expect(kept.status).toBe("pending");
    expect(typeof kept.private_jwk.d).toBe("string");
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it("a 201 cut short: exit 1, the file stays", async () => {
    const { code, out } = await bootstrap(async () => new Response('{"client_id":"mc_1","org_', { status: 201 }));
    expect(code).toBe(1);
    expect(existsSync(out)).toBe(true);
  });

  it("a refusal (4xx) proves nothing was created: exit 1, no file left", async () => {
    const { code, out } = await bootstrap(async () =>
      Response.json({ error: "invite_already_used", error_description: "used" }, { status: 400 }),
    );
    expect(code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});

describe("--url", () => {
  it("refuses plain http but for a loopback issuer: an operator's secret never goes out in clear text", async () => {
    const errors: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    const sent = vi.fn();
    vi.stubGlobal("fetch", sent);
    expect(await run(["node", "mono-auth", "org", "list", "--url", "http://id.example.com", "--json"])).not.toBe(0);
    expect(errors.join("")).toContain("Must be https");
    expect(sent).not.toHaveBeenCalled();
  });
});
