import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { oauthClient } from "../../shared/db/machine-schema.ts";

/**
 * An active agent client of `orgId`, its row written to the real D1 as the
 * admin API stores one (client credentials, documents:read, the API as its
 * audience): what the token Worker's VaultService looks up when the gateway
 * asks whether the agent may use a saved connection. Its id.
 */
export async function registerAgent(orgId: string): Promise<string> {
  const clientId = `mac_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = new Date();
  await drizzle(env.DB).insert(oauthClient).values({
    clientId,
    orgId,
    name: "agent",
    type: "agent",
    authMethod: "client_secret_basic",
    grantTypes: "client_credentials",
    scopes: "documents:read",
    audiences: env.API_AUDIENCE,
    status: "active",
    createdAt: now,
    updatedAt: now,
  });
  return clientId;
}
