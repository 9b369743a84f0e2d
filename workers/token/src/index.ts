import { Hono } from "hono";
import type { AuditRecord } from "../../../shared/audit/audit-record.ts";
import { httpErrorResponse, internalErrorResponse } from "../../../shared/errors/http.ts";
import { consumeAuditBatch } from "./audit-consumer.ts";
import { readJwks } from "./keys/signing-keys.ts";
import { authorizationServerMetadata, openIdConfiguration } from "./metadata.ts";
import { tokenSettings } from "./settings.ts";
import { tokenEndpoint } from "./token-endpoint.ts";

const METADATA_CACHE = "public, max-age=300";

const app = new Hono<{ Bindings: TokenEnv }>();

app.get("/.well-known/oauth-authorization-server", (c) =>
  c.json(authorizationServerMetadata(tokenSettings(c.env).issuer), 200, { "Cache-Control": METADATA_CACHE }),
);
app.get("/.well-known/openid-configuration", (c) =>
  c.json(openIdConfiguration(tokenSettings(c.env).issuer), 200, { "Cache-Control": METADATA_CACHE }),
);
app.get("/.well-known/jwks.json", async (c) => {
  // `no-cache` (the gateway after an unknown kid) asks for D1's view.
  const fresh = /no-cache/i.test(c.req.header("Cache-Control") ?? "");
  return c.json(await readJwks(c.env, { fresh }), 200, { "Cache-Control": METADATA_CACHE });
});
app.post("/oauth2/token", tokenEndpoint);

app.notFound(() => httpErrorResponse("not_found", "no such endpoint"));
app.onError((error) => internalErrorResponse("token worker", error));

export default {
  fetch: app.fetch,
  queue: consumeAuditBatch,
} satisfies ExportedHandler<TokenEnv, AuditRecord>;
