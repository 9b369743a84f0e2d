// MCP clients' Client ID Metadata Documents (workers/authn/src/mcp-clients):
// the resolver against a real https host (test/support/runtime/cimd-host,
// routed as CIMD_HOST — the test decides where the request goes, the
// resolver and the host answer for themselves), and every refusal with its
// exact code.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isForbiddenHost } from "../../shared/http/outbound-url.ts";
import { parseClientIdUrl } from "../../workers/authn/src/mcp-clients/client-id-url.ts";
import { CIMD_ERROR, CimdError } from "../../workers/authn/src/mcp-clients/errors.ts";
import {
  CIMD_MAX_CACHE_SECONDS,
  DocumentCache,
  isRegisteredRedirect,
  type MetadataTransport,
  resolveClientMetadataDocument,
} from "../../workers/authn/src/mcp-clients/metadata-document.ts";

const host = (env as unknown as { CIMD_HOST: Fetcher }).CIMD_HOST;

/** Routes every https request to the test host and remembers what was asked. */
function routed() {
  const asked: string[] = [];
  const transport: MetadataTransport = (request) => {
    asked.push(request.url);
    return host.fetch(request);
  };
  return { asked, transport };
}

async function refusal(clientId: string, transport: MetadataTransport): Promise<CimdError> {
  const error = await resolveClientMetadataDocument(clientId, { transport, cache: new DocumentCache() }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CimdError);
  return error as CimdError;
}

describe("Client ID Metadata Document resolver", () => {
  it("accepts a document whose client_id is its own URL, with exact redirect URIs", async () => {
    const { transport } = routed();
    const clientId = "https://client.example.test/clients/good";
    const document = await resolveClientMetadataDocument(clientId, { transport, cache: new DocumentCache() });
    expect(document.clientId).toBe(clientId);
    expect(document.metadata.redirect_uris).toEqual(["https://client.example.test/callback"]);
    expect(isRegisteredRedirect(document, "https://client.example.test/callback")).toBe(true);
    // RFC 6749 §3.1.2.3: exact string comparison, no prefix or trailing-slash match.
    expect(isRegisteredRedirect(document, "https://client.example.test/callback/")).toBe(false);
    expect(isRegisteredRedirect(document, "https://client.example.test/callback?x=1")).toBe(false);
  });

  it("reuses a document within its max-age (bounded) and refetches one marked no-store", async () => {
    const { asked, transport } = routed();
    const cache = new DocumentCache();
    let now = 1_000_000;
    const good = "https://cache.example.test/clients/good";
    const first = await resolveClientMetadataDocument(good, { transport, cache, now: () => now });
    expect(first.expiresAt).toBe(now + 60_000);
    await resolveClientMetadataDocument(good, { transport, cache, now: () => now });
    expect(asked).toEqual([good]);
    now += 61_000;
    await resolveClientMetadataDocument(good, { transport, cache, now: () => now });
    expect(asked).toEqual([good, good]);

    const noStore = "https://cache.example.test/clients/no-store";
    await resolveClientMetadataDocument(noStore, { transport, cache, now: () => now });
    await resolveClientMetadataDocument(noStore, { transport, cache, now: () => now });
    expect(asked.filter((u) => u === noStore)).toHaveLength(2);
    expect(CIMD_MAX_CACHE_SECONDS).toBeLessThanOrEqual(3600);
  });

  it.each([
    "https://127.0.0.1/clients/good",
    "https://10.1.2.3/clients/good",
    "https://172.16.0.1/clients/good",
    "https://192.168.1.1/clients/good",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/clients/good",
    "https://0.0.0.0/clients/good",
    "https://0x7f.1/clients/good",
    "https://2130706433/clients/good",
    "https://[::1]/clients/good",
    "https://[fd00::1]/clients/good",
    "https://[fe80::1]/clients/good",
    "https://[::ffff:10.0.0.1]/clients/good",
    "https://[::ffff:7f00:1]/clients/good",
    "https://localhost/clients/good",
    "https://api.localhost/clients/good",
    "https://metadata.google.internal/computeMetadata/v1",
    "https://printer.local/clients/good",
    "https://intranet/clients/good",
  ])("refuses a private, loopback, link-local or metadata address without fetching: %s", async (clientId) => {
    const { asked, transport } = routed();
    const error = await refusal(clientId, transport);
    expect(error.code).toBe(CIMD_ERROR.forbiddenAddress);
    expect(error.oauthError).toBe("invalid_client");
    expect(asked).toEqual([]);
  });

  it.each([
    ["http://client.example.test/clients/good", "must be an https URL"],
    ["https://client.example.test/", "must have a path"],
    ["https://client.example.test", "must have a path"],
    ["https://user:pw@client.example.test/clients/good", "credentials"],
    ["https://client.example.test/clients/good#frag", "fragment"],
    ["https://client.example.test/clients/../good", "dot segments"],
    ["https://CLIENT.example.test/clients/good", "normal form"],
    ["not a url", "not a URL"],
  ])("refuses a client_id that is not a CIMD URL: %s", async (clientId, why) => {
    const { asked, transport } = routed();
    const error = await refusal(clientId, transport);
    expect(error.code).toBe(CIMD_ERROR.invalidClientId);
    expect(error.description).toContain(why);
    expect(asked).toEqual([]);
  });

  it("refuses a redirect, here to the cloud metadata address, and never follows it", async () => {
    const { asked, transport } = routed();
    const error = await refusal("https://client.example.test/clients/redirect-private", transport);
    expect(error.code).toBe(CIMD_ERROR.redirect);
    expect(asked).toEqual(["https://client.example.test/clients/redirect-private"]);
  });

  it("refuses a document over the size cap (declared length, and streamed without one)", async () => {
    const { transport } = routed();
    expect((await refusal("https://client.example.test/clients/oversize", transport)).code).toBe(CIMD_ERROR.tooLarge);
    expect((await refusal("https://client.example.test/clients/oversize-stream", transport)).code).toBe(
      CIMD_ERROR.tooLarge,
    );
  });

  it("gives up on a host slower than the time cap", { timeout: 20_000 }, async () => {
    const { transport } = routed();
    expect((await refusal("https://client.example.test/clients/slow", transport)).code).toBe(CIMD_ERROR.timeout);
  });

  it("refuses a document whose client_id is another URL", async () => {
    const { transport } = routed();
    expect((await refusal("https://client.example.test/clients/mismatch", transport)).code).toBe(
      CIMD_ERROR.clientIdMismatch,
    );
  });

  it("refuses a document that claims a shared secret, and a host that answers 404", async () => {
    const { transport } = routed();
    const secret = await refusal("https://client.example.test/clients/secret", transport);
    expect(secret.code).toBe(CIMD_ERROR.invalidDocument);
    expect(secret.description).toContain("client_secret");
    expect((await refusal("https://client.example.test/clients/missing", transport)).code).toBe(CIMD_ERROR.unavailable);
  });

  it("refuses a document that sets what only the server decides: skip_consent, Better Auth's record fields, metadata", async () => {
    const { transport } = routed();
    const skip = await refusal("https://client.example.test/clients/skip-consent", transport);
    expect(skip.code).toBe(CIMD_ERROR.invalidDocument);
    expect(skip.description).toContain("skip_consent");
    const server = await refusal("https://client.example.test/clients/server-fields", transport);
    expect(server.code).toBe(CIMD_ERROR.invalidDocument);
  });

  it("judges hosts by RFC 6890, and public names and addresses pass", () => {
    expect(isForbiddenHost("client.example.com")).toBe(false);
    expect(isForbiddenHost("93.184.215.14")).toBe(false);
    expect(isForbiddenHost("[2606:4700::1111]")).toBe(false);
    expect(parseClientIdUrl("https://client.example.com/oauth/client.json").hostname).toBe("client.example.com");
  });
});
