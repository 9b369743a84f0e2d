// The gateway part's third contestant: @cloudflare/workers-oauth-provider
// protecting the same demo service (bench/workers-oauth-provider), with a
// real token from its own flow: dynamic client registration (RFC 7591), then
// authorization code with PKCE S256 (RFC 7636) for the bench's resource.
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { DevServer, StartOptions } from "./dev-server.ts";
import type { Contestant } from "./load.ts";
import { log } from "./rounds.ts";
import type { ShadowTree } from "./shadow-tree.ts";

const CONFIG = "bench/workers-oauth-provider/wrangler.toml";
const DEMO_CONFIG = "workers/demo/wrangler.toml";
const REDIRECT_URI = "https://bench.example/callback";
export const OAUTH_PROVIDER_CONTESTANT = "workers-oauth-provider";

export interface OAuthProviderInput {
  tree: ShadowTree;
  temp: string;
  /** The system's origin: the issuer whose gateway assertion the demo service accepts. */
  origin: string;
  /** The gateway's .dev.vars: its assertion key signs here too, as in the pass-through. */
  gatewayVars: Readonly<Record<string, string>>;
  port: number;
  start(options: Omit<StartOptions, "logDir" | "cwd">): Promise<DevServer>;
}

export async function startOAuthProviderContestant(
  input: OAuthProviderInput,
): Promise<{ contestant: Contestant; server: DevServer }> {
  const base = `http://localhost:${input.port}`;
  const assertionKey = input.gatewayVars.GATEWAY_ASSERTION_KEY;
  if (!assertionKey) throw new Error("the gateway's .dev.vars hold no GATEWAY_ASSERTION_KEY");
  input.tree.writeDevVars(CONFIG, {
    BASE_URL: base,
    ISSUER: input.origin,
    API_AUDIENCE: `${input.origin}/api`,
    GATEWAY_ASSERTION_KEY: assertionKey,
  });
  const server = await input.start({
    name: OAUTH_PROVIDER_CONTESTANT,
    configs: [CONFIG, DEMO_CONFIG],
    port: input.port,
    persistTo: join(input.temp, "state-workers-oauth-provider"),
    readyPath: "/.well-known/oauth-authorization-server",
  });
  const token = await tokenFromItsOwnFlow(base);
  log(`${OAUTH_PROVIDER_CONTESTANT}: registered a client and got a token by authorization code + PKCE`);
  return {
    contestant: {
      name: OAUTH_PROVIDER_CONTESTANT,
      url: `${base}/api/documents`,
      headers: { Authorization: `Bearer ${token}` },
      cpuSeconds: server.cpuSeconds,
    },
    server,
  };
}

async function tokenFromItsOwnFlow(base: string): Promise<string> {
  const resource = `${base}/api`;
  const registration = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      client_name: "mono-auth bench",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }),
  });
  const client = (await registration.json()) as { client_id?: string; client_secret?: string };
  if (registration.status !== 201 || !client.client_id || !client.client_secret) {
    throw new Error(`${OAUTH_PROVIDER_CONTESTANT}: registration answered ${registration.status}`);
  }
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = new URL(`${base}/authorize`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: "documents:read",
    state: randomBytes(8).toString("hex"),
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource,
  })) {
    authorize.searchParams.set(name, value);
  }
  const redirect = await fetch(authorize, { redirect: "manual" });
  const code = new URL(redirect.headers.get("Location") ?? REDIRECT_URI).searchParams.get("code");
  if (redirect.status !== 302 || !code) {
    throw new Error(`${OAUTH_PROVIDER_CONTESTANT}: /authorize answered ${redirect.status}: ${await redirect.text()}`);
  }
  const response = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64")}`,
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource,
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) {
    throw new Error(`${OAUTH_PROVIDER_CONTESTANT}: token endpoint answered ${response.status}`);
  }
  return body.access_token;
}
