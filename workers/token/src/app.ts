/**
 * The token Worker's HTTP routes: the OAuth endpoints, metadata, the admin,
 * agent, vault and SSF routers. index.ts serves it; the docs coverage test
 * (test/token/docs-coverage.test.ts) reads its routes.
 */
import { Hono } from "hono";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { VAULT_PATH } from "../../../shared/contracts/vault.ts";
import { httpErrorResponse, internalErrorResponse } from "../../../shared/errors/http.ts";
import { answerUnsupportedMethods } from "../../../shared/http/unsupported-methods.ts";
import { healthResponse, requestLog } from "../../../shared/observability/log.ts";
import { adminRouter } from "./admin/router.ts";
import { hostBootstrapEndpoint } from "./endpoints/host-bootstrap.ts";
import { jwksEndpoint } from "./endpoints/jwks.ts";
import { introspectionEndpoint } from "./endpoints/introspection.ts";
import { authorizationServerMetadataEndpoint, openIdConfigurationEndpoint } from "./endpoints/metadata.ts";
import { revocationEndpoint } from "./endpoints/revocation.ts";
import { tokenEndpoint } from "./endpoints/token.ts";
import { noStore } from "./http/no-store.ts";
import { limitTokenRequestsByAddress } from "./http/rate-limit.ts";
import { clientRegistrationEndpoint } from "./oidc/client-registration.ts";
import { agentApi } from "./mcp/agent-api.ts";
import { vaultFlowRoutes } from "./vault/routes.ts";
import { ssfConfigurationEndpoint } from "./ssf/configuration.ts";
import { ssfRoutes } from "./ssf/routes.ts";

export const app = new Hono<{ Bindings: TokenEnv }>();

// One JSON line per refused, failed or slow request, with the gateway's request id; liveness on the binding.
app.use("*", requestLog("token"));
app.get(ENDPOINT.health, () => healthResponse("token"));

app.get(ENDPOINT.authorizationServerMetadata, authorizationServerMetadataEndpoint);
app.get(ENDPOINT.openIdConfiguration, openIdConfigurationEndpoint);
app.get(ENDPOINT.jwks, jwksEndpoint);
// RFC 6749 §5.1: whatever answers these three (a 405, 413, 429 or 500 too) is never cached.
for (const path of [ENDPOINT.token, ENDPOINT.revocation, ENDPOINT.introspection]) app.use(path, noStore());
// RFC 6749 §3.2: the token endpoint takes POST only (other methods: 405, below).
app.post(ENDPOINT.token, limitTokenRequestsByAddress(), tokenEndpoint);
// RFC 7009 §2.1 and RFC 7662 §2.1: POST only; one address limit with the token endpoint (both authenticate clients).
app.post(ENDPOINT.revocation, limitTokenRequestsByAddress(), revocationEndpoint);
app.post(ENDPOINT.introspection, limitTokenRequestsByAddress(), introspectionEndpoint);
// One address limit with the token endpoint: both are unauthenticated POSTs.
app.post(ENDPOINT.hostBootstrap, limitTokenRequestsByAddress(), hostBootstrapEndpoint);
app.post(`${ENDPOINT.clientRegistration}/:org`, limitTokenRequestsByAddress(), clientRegistrationEndpoint);
app.route(ENDPOINT.admin, adminRouter());
app.route(ENDPOINT.agentApi, agentApi());
// The saved-token vault's connection flow; nothing below it ever reveals a saved token.
app.route(VAULT_PATH.base, vaultFlowRoutes());
// The Shared Signals transmitter (SSF 1.0): its metadata, stream management, poll, the org live stream.
app.get(ENDPOINT.ssfConfiguration, ssfConfigurationEndpoint);
app.route(ENDPOINT.ssf, ssfRoutes());

// Last: a path above asked with a method it does not take is 405 with Allow, not 404.
answerUnsupportedMethods(app);
app.notFound(() => httpErrorResponse("not_found", "no such endpoint"));
app.onError((error) => internalErrorResponse("token worker", error));
