import { OUTBOUND_URL_FORBIDDEN, OutboundUrlError } from "../../../../shared/http/outbound-url.ts";
import { logJson } from "../../../../shared/observability/log.ts";
import { assertFetchableUrl } from "../http/own-issuer.ts";
import { type ConnectionRow, type TokenColumn, tokenPlace } from "./connections.ts";
import { VaultError } from "./errors.ts";
import { type ProviderRow, providerClient } from "./providers.ts";
import { openField } from "./sealed-field.ts";
import { clientAuthentication } from "./upstream-token.ts";
import { orgDataKey } from "./vault-key.ts";

/**
 * How long each revocation request may take: a provider that is down must
 * not hold the delete's answer for long, and the delete has happened anyway.
 */
export const REVOCATION_TIMEOUT_MS = 3_000;

/**
 * What became of a deleted connection's tokens at the provider:
 * - `revoked`: the provider answered 200 for each token we held (RFC 7009 §2.2);
 * - `not_supported`: the provider has no revocation endpoint configured;
 * - `failed`: at least one token may still be live there (the provider was
 *   down, refused, or could not be asked); `cause` says why, with no token.
 */
export type ProviderRevocation = { outcome: "revoked" | "not_supported" } | { outcome: "failed"; cause: string };

/**
 * Best effort, after the local delete: asks the provider to revoke the
 * connection's refresh token, then its access token, each as its own RFC
 * 7009 §2.1 request (a refresh token's revocation SHOULD end the grant's
 * access tokens too, but need not, and the access token may be a provider's
 * self-contained one). The client authenticates as at the token endpoint,
 * and only while the provider still names the client and token endpoint the
 * tokens were issued through: its secret belongs to that pair (RFC 6749
 * §2.3.1), and another client may not revoke them anyway (RFC 7009 §2.1).
 * Never throws: the caller records the outcome.
 */
export async function revokeAtProvider(
  db: D1Database,
  secret: string,
  provider: ProviderRow | null,
  row: ConnectionRow,
): Promise<ProviderRevocation> {
  if (!provider) return failed(row, "the connection's provider is gone");
  if (provider.revocationEndpoint === null) return { outcome: "not_supported" };
  if (provider.tokenEndpoint !== row.tokenEndpoint || provider.clientId !== row.clientId)
    return failed(row, "the provider's client or token endpoint changed since the connection was made");
  try {
    assertFetchableUrl(provider.revocationEndpoint);
  } catch (error) {
    if (error instanceof OutboundUrlError) return failed(row, `${OUTBOUND_URL_FORBIDDEN}: revocation endpoint refused`);
    throw error;
  }
  // The token endpoint is pinned per connection, the revocation endpoint is the provider's current
  // one: a PATCH after the owner connected (an org admin's) could point it anywhere public, and the
  // delete would POST the owner's tokens and the client secret there. The provider that issued them
  // is the token endpoint's origin (RFC 8414 §2 names no other rule; every provider we know keeps both
  // on one host): off it, nothing is sent.
  if (!sameOrigin(provider.revocationEndpoint, row.tokenEndpoint))
    return failed(
      row,
      "the revocation endpoint is not on the origin of the token endpoint the connection was made with",
    );
  let tokens: { hint: TokenColumn; value: string }[];
  let client: Awaited<ReturnType<typeof providerClient>>;
  try {
    const key = await orgDataKey(db, secret, row.orgId);
    const open = (column: TokenColumn, sealed: string) => openField(key, tokenPlace(row, column), sealed);
    tokens = [
      ...(row.refreshTokenSealed === null
        ? []
        : [{ hint: "refresh_token" as const, value: await open("refresh_token", row.refreshTokenSealed) }]),
      { hint: "access_token", value: await open("access_token", row.accessTokenSealed) },
    ];
    client = await providerClient(db, secret, provider);
  } catch (error) {
    if (error instanceof VaultError) return failed(row, error.code);
    throw error;
  }
  const endpoint = provider.revocationEndpoint;
  const answers = await Promise.all(tokens.map((token) => revokeOne(endpoint, client, token)));
  const problems = answers.filter((answer) => answer !== undefined);
  return problems.length === 0 ? { outcome: "revoked" } : failed(row, problems.join("; "));
}

/**
 * How many connections' revocations run at once when a provider goes with
 * all its connections: two requests each, within the six outbound
 * connections a Worker invocation has open at a time.
 */
const REVOCATIONS_IN_FLIGHT = 3;

/** A deleted provider's connections, each revoked as one connection's delete does; how many came to which outcome. */
export async function revokeAllAtProvider(
  db: D1Database,
  secret: string,
  provider: ProviderRow,
  rows: readonly ConnectionRow[],
): Promise<Record<ProviderRevocation["outcome"], number>> {
  const counts = { revoked: 0, not_supported: 0, failed: 0 };
  for (let i = 0; i < rows.length; i += REVOCATIONS_IN_FLIGHT) {
    const batch = rows.slice(i, i + REVOCATIONS_IN_FLIGHT);
    for (const result of await Promise.all(batch.map((row) => revokeAtProvider(db, secret, provider, row))))
      counts[result.outcome] += 1;
  }
  return counts;
}

/** One RFC 7009 §2.1 request; undefined when the provider took it, else why not (no token, no provider text). */
async function revokeOne(
  endpoint: string,
  client: Awaited<ReturnType<typeof providerClient>>,
  token: { hint: TokenColumn; value: string },
): Promise<string | undefined> {
  const { headers, body } = clientAuthentication(client, { token: token.value, token_type_hint: token.hint });
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REVOCATION_TIMEOUT_MS),
    });
  } catch (error) {
    return `${token.hint}: revocation endpoint unreachable (${error instanceof Error ? error.name : "?"})`;
  }
  await response.body?.cancel();
  // §2.2: 200 for a revoked token, and for one the provider no longer knows. Anything else, §2.2.1's
  // `unsupported_token_type` and a 503 included, leaves the token live until it expires: reported.
  if (response.status === 200) return undefined;
  return `${token.hint}: revocation endpoint answered ${response.status}`;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function failed(row: ConnectionRow, cause: string): ProviderRevocation {
  logJson("warn", {
    event: "vault.provider_revocation_failed",
    worker: "token",
    org_id: row.orgId,
    connection_id: row.id,
    cause,
  });
  return { outcome: "failed", cause };
}
