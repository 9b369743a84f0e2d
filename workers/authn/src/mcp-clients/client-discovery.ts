import type { ClientDiscovery, OAuthClient, OAuthOptions, Scope } from "@better-auth/oauth-provider";
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
      const { client } = await registerClientMetadataDocument(ctx, options, {
        metadata: document.metadata as unknown as OAuthClient,
        clientId,
        clientDiscoveryId: CIMD_DISCOVERY_ID,
        ...(existing ? { existingClient: existing } : {}),
      });
      return client;
    },
  };
}
