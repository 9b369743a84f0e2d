import { WorkerEntrypoint } from "cloudflare:workers";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import type { SavedTokenRequest, SavedTokenResult, VaultServiceRpc } from "../../../../shared/contracts/vault.ts";
import { markUsed } from "./mark-used.ts";
import { savedToken } from "./saved-token.ts";
import { vaultSecret } from "./vault-key.ts";

const MAX_FIELD = 512;

function field(value: unknown): string {
  return typeof value === "string" && value.length <= MAX_FIELD ? value : "";
}

/**
 * The vault's RPC entrypoint, bound only by the gateway (wrangler.toml,
 * `VAULT_SERVICE`, entrypoint `VaultService`): a separate entrypoint from
 * TokenService, so the Workers that exchange sessions (authn) cannot ask for
 * saved tokens. The gateway holds no VAULT_KEY: the key that opens every
 * org's tokens stays in this Worker, which also decides who may use which
 * connection (saved-token.ts), so the internet-facing Worker can obtain one
 * token for one authorised request, audited, and nothing else.
 */
export class VaultService extends WorkerEntrypoint<TokenEnv> implements VaultServiceRpc {
  async savedToken(request: SavedTokenRequest): Promise<SavedTokenResult> {
    // An RPC caller is another Worker, but its argument is still checked.
    const checked: SavedTokenRequest = {
      orgId: field(request?.orgId),
      subject: field(request?.subject),
      agentClientId: field(request?.agentClientId),
      resource: field(request?.resource),
      decisionId: field(request?.decisionId),
      forceRefresh: request?.forceRefresh === true,
    };
    if (!checked.orgId || !checked.subject || !checked.agentClientId || !checked.resource)
      return { ok: false, refusal: "no_saved_connection" };
    const outcome = await savedToken(this.env.DB, vaultSecret(this.env), checked);
    this.ctx.waitUntil(recordAuditInBackground(this.env, outcome.audit));
    if (outcome.used) this.ctx.waitUntil(markUsed(this.env.DB, outcome.used));
    return outcome.result;
  }
}
