// Answers by path; the document's client_id is the URL it was asked at, so
// any https host routed here serves a document that is its own.
const hits = new Map<string, number>();

/** Longer than the resolver's time cap (workers/authn/src/mcp-clients/metadata-document.ts). */
const SLOW_MS = 10_000;

function document(url: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: url,
    client_name: "Example MCP client",
    redirect_uris: ["https://client.example.test/callback"],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...extra,
  };
}

/**
 * The public half of the key a `private_key_jwt` document client signs its
 * assertions with (RFC 7523 §2.2); the test that drives it holds the private
 * half (assertion-signer.ts, beside this file). A test key, nothing else.
 */
const ASSERTION_KEY = {
  kty: "EC",
  crv: "P-256",
  x: "k5f2JaWJQVqUCGVdtbKF-IeAVW30XzGqOhOG2GlSFZo",
  y: "8Cg3uIE567myZQ15VQHZgizy9lbuVrYNDJJzx9TFggA",
  kid: "cimd-test-assertion",
  alg: "ES256",
  use: "sig",
};

const json = (body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json", ...headers } });

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const key = `${url.host}${url.pathname}`;
    if (url.pathname === "/hits") {
      return json({ hits: hits.get(url.searchParams.get("key") ?? "") ?? 0 });
    }
    hits.set(key, (hits.get(key) ?? 0) + 1);
    switch (url.pathname) {
      case "/clients/good":
        return json(document(request.url), { "Cache-Control": "public, max-age=60" });
      case "/clients/no-store":
        return json(document(request.url), { "Cache-Control": "no-store" });
      case "/clients/skip-consent":
        return json(document(request.url, { skip_consent: true }));
      case "/clients/server-fields":
        return json(document(request.url, { skipConsent: true, metadata: { org_id: "org-1" } }));
      case "/clients/mismatch":
        return json(document("https://other.example.test/clients/mismatch"));
      case "/clients/secret":
        return json(
          document(request.url, { client_secret: "s3cret", token_endpoint_auth_method: "client_secret_post" }),
        );
      case "/clients/private-key-jwt":
        return json(
          document(request.url, {
            token_endpoint_auth_method: "private_key_jwt",
            token_endpoint_auth_signing_alg: "ES256",
            jwks: { keys: [ASSERTION_KEY] },
          }),
        );
      case "/clients/redirect-private":
        return new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/latest/meta-data/" } });
      case "/clients/oversize":
        return json(document(request.url, { padding: "x".repeat(6 * 1024) }));
      case "/clients/oversize-stream": {
        // No Content-Length: the cap must hold on the bytes actually read.
        const chunk = new TextEncoder().encode(" ".repeat(1024));
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 64) controller.enqueue(chunk);
            else controller.close();
          },
        });
        return new Response(body, { headers: { "Content-Type": "application/json" } });
      }
      case "/clients/slow":
        await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
        return json(document(request.url));
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
