import { Hono, type MiddlewareHandler } from "hono";
import { pageSecurityHeaders } from "../security/page-headers.ts";
import { auditPage, keysPage, rotateKeys } from "./audit-pages.tsx";
import {
  createClient,
  createInvite,
  createOrg,
  disableClient,
  orgPage,
  overviewPage,
  rotateClient,
} from "./org-pages.tsx";
import { decideRequest, mcpPage, registerServer, revokeGrant } from "./mcp-pages.tsx";
import { changeCurrent, policiesPage, rollbackPreview, submitPolicy, testVersion, whatIf } from "./policy-pages.tsx";
import { revocationsPage, revocationStream, revoke } from "./revocation-pages.tsx";
import { consoleSession } from "./session.tsx";
import type { ConsoleEnv } from "./types.ts";
import { banUser, usersPage } from "./user-pages.tsx";
import { confirmVaultLink, rememberVaultConfirm, showVaultConfirm, vaultConfirmHeaders } from "./vault-confirm.tsx";
import {
  bindAgent,
  createProvider,
  deleteConnection,
  deleteProvider,
  setProviderRevocation,
  startConnect,
  unbindAgent,
  vaultPage,
} from "./vault-pages.tsx";

/**
 * The operator console (ENDPOINT.console): server-rendered pages over the
 * admin API, called as the signed-in person through the token Worker's
 * ConsoleAdmin entrypoint (shared/contracts/console-admin.ts). What a person
 * may see and do is the admin API's decision, never the page's: an org admin
 * is shown its orgs only because the API answers with those only.
 */
/**
 * A form whose action the admin API refused shows its page again with the
 * problem, under the refusal's status (RFC 9110 §15.5): another org's
 * client is 403 forbidden, an unknown id 404, not a 200 that reads as done
 * to anything but a person. A page whose reads the API refused (another
 * org's page, an unknown org) is shown with its notice under that status too.
 */
const refusalStatus: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  await next();
  const status = c.var.refusal;
  if (status !== undefined && c.res.status === 200) {
    c.res = new Response(c.res.body, { status, headers: c.res.headers });
  }
};

/** An operator's connect link lands here (shared/contracts/vault.ts VAULT_CONNECT_LINK, below ENDPOINT.console). */
const VAULT_CONFIRM = "/orgs/:org/vault/confirm";

export function consoleApp(): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  // Outside the page headers and the session check: they widen the CSP the former wrote and keep the
  // link when the latter sends the browser to sign in (vault-confirm.tsx).
  app.use(VAULT_CONFIRM, vaultConfirmHeaders, rememberVaultConfirm);
  app.use("*", pageSecurityHeaders, consoleSession, refusalStatus);
  app.get("/", (c) => overviewPage(c));
  app.post("/orgs", createOrg);
  app.get("/orgs/:org", (c) => orgPage(c));
  app.post("/orgs/:org/clients", createClient);
  app.post("/orgs/:org/clients/:id/rotate", rotateClient);
  app.post("/orgs/:org/clients/:id/disable", disableClient);
  app.post("/orgs/:org/invites", createInvite);
  app.get("/orgs/:org/policies", (c) => policiesPage(c));
  app.post("/orgs/:org/policies", submitPolicy);
  app.post("/orgs/:org/policies/:version/publish", changeCurrent("publish"));
  app.post("/orgs/:org/policies/what-if", whatIf);
  app.post("/orgs/:org/policies/:version/test", testVersion);
  app.get("/orgs/:org/policies/:version/rollback", rollbackPreview);
  app.post("/orgs/:org/policies/:version/rollback", changeCurrent("rollback"));
  app.get("/orgs/:org/revocations", (c) => revocationsPage(c));
  app.post("/orgs/:org/revocations", revoke);
  app.get("/orgs/:org/revocations/stream", revocationStream);
  app.get("/orgs/:org/mcp", (c) => mcpPage(c));
  app.post("/orgs/:org/mcp/servers", registerServer);
  app.post("/orgs/:org/mcp/requests/:id/approve", decideRequest("approve"));
  app.post("/orgs/:org/mcp/requests/:id/deny", decideRequest("deny"));
  app.post("/orgs/:org/mcp/grants/:id/revoke", revokeGrant);
  app.get("/orgs/:org/vault", (c) => vaultPage(c));
  app.post("/orgs/:org/vault/providers", createProvider);
  app.post("/orgs/:org/vault/providers/:id/connect", startConnect);
  app.post("/orgs/:org/vault/providers/:id/delete", deleteProvider);
  app.post("/orgs/:org/vault/providers/:id/revocation-endpoint", setProviderRevocation);
  app.post("/orgs/:org/vault/connections/:id/delete", deleteConnection);
  app.post("/orgs/:org/vault/connections/:id/agents", bindAgent);
  app.post("/orgs/:org/vault/connections/:id/agents/:client/unbind", unbindAgent);
  app.get(VAULT_CONFIRM, (c) => showVaultConfirm(c));
  app.post(VAULT_CONFIRM, confirmVaultLink);
  app.get("/users", (c) => usersPage(c));
  app.post("/users/:id/ban", banUser("ban"));
  app.post("/users/:id/unban", banUser("unban"));
  app.get("/audit", auditPage);
  app.get("/keys", (c) => keysPage(c));
  app.post("/keys/rotate", rotateKeys);
  return app;
}
