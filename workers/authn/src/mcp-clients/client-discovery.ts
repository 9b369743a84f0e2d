import type { ClientDiscovery, OAuthClient, OAuthOptions, SchemaClient, Scope } from "@better-auth/oauth-provider";
import { registerClientMetadataDocument } from "@better-auth/oauth-provider/internal";
import { APIError } from "better-auth/api";
import { isMetadataDocumentClientId } from "./client-id-url.ts";
import { CimdError, cimdRefusalBody } from "./errors.ts";
import { type MetadataTransport, resolveClientMetadataDocument } from "./metadata-document.ts";

/** Persisted as the client's provenance (oidc_client.client_discovery_id): never change it. */
export const CIMD_DISCOVERY_ID = "cimd";

/**
 * Client ID Metadata Documents as the browser provider's client discovery
 * (Better Auth oauth-provider's `clientDiscovery` extension point): an https
 * client_id is resolved by metadata-document.ts, with all its bounds, each
 * time the provider looks the client up (the isolate cache keeps that to one
 * fetch per max-age), and the validated document becomes the stored client
 * through the provider's own persistence, which gives it no secret. A
 * refusal is `invalid_client` with the refusal's stable code.
 */
export function cimdClientDiscovery(transport?: MetadataTransport): ClientDiscovery {
  return {
    id: CIMD_DISCOVERY_ID,
    matches: isMetadataDocumentClientId,
    // §4.1: a document's jwks_uri would be a second URL fetched on a client's word; none is.
    fetchClientMetadataResource: async () => {
      throw new APIError("BAD_REQUEST", {
        error: "invalid_client",
        error_description: "jwks_uri is not fetched for metadata-document clients",
      });
    },
    discoveryMetadata: { client_id_metadata_document_supported: true },
    resolve: async (ctx, clientId, existing) => {
      let document: Awaited<ReturnType<typeof resolveClientMetadataDocument>>;
      try {
        document = await resolveClientMetadataDocument(clientId, { transport });
      } catch (error) {
        if (error instanceof CimdError) throw new APIError("BAD_REQUEST", cimdRefusalBody(error));
        throw error;
      }
      const options = (ctx.context.getPlugin("oauth-provider") as { options?: OAuthOptions<Scope[]> } | null)?.options;
      if (!options) throw new Error("the oauth-provider plugin is not installed");
      const register = async (current: SchemaClient<Scope[]> | null) =>
        (
          await registerClientMetadataDocument(ctx, options, {
            metadata: document.metadata as unknown as OAuthClient,
            clientId,
            clientDiscoveryId: CIMD_DISCOVERY_ID,
            ...(current ? { existingClient: current } : {}),
          })
        ).client;
      // Requests that see a new client at once (two tabs, a prefetch and the navigation) each store it;
      // Better Auth retries a lost insert with the stored row, but it recognises the unique violation
      // only by the error's own code or message, and D1 through drizzle wraps it ("Failed query: …"),
      // so the loser answered 500. The violation is read from the cause here, and the stored row taken.
      let current = existing;
      for (let attempt = 1; ; attempt++) {
        try {
          return await register(current);
        } catch (error) {
          if (attempt >= MAX_REGISTRATION_ATTEMPTS || !isUniqueViolation(error)) throw error;
          const stored = await storedClient(ctx, options, clientId);
          if (!stored) throw error;
          current = stored;
        }
      }
    },
  };
}

/** A first insert and one retry per row a concurrent request can win (the client's, a resource link's). */
const MAX_REGISTRATION_ATTEMPTS = 3;

/** A unique-constraint failure anywhere in the error's cause chain (D1's message, as drizzle wraps it). */
function isUniqueViolation(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && typeof cause === "object" && depth < 8; depth++) {
    const { message, code } = cause as { message?: unknown; code?: unknown };
    if (code === "SQLITE_CONSTRAINT_UNIQUE") return true;
    if (typeof message === "string" && /UNIQUE constraint failed/i.test(message)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** The client row as Better Auth reads it (its model name may be renamed, auth/plugins/oauth-provider.ts). */
function storedClient(
  ctx: Parameters<ClientDiscovery["resolve"]>[0],
  options: OAuthOptions<Scope[]>,
  clientId: string,
): Promise<SchemaClient<Scope[]> | null> {
  return ctx.context.adapter.findOne<SchemaClient<Scope[]>>({
    model: options.schema?.oauthClient?.modelName ?? "oauthClient",
    where: [{ field: "clientId", value: clientId }],
  });
}
