import type { MintGuardrails } from "../clients/guardrails.ts";
import type { ExchangeRequest } from "./token-exchange.ts";
import type { OrgClient } from "./token-exchange-client.ts";
import type { ExchangeParties } from "./token-exchange-parties.ts";
import type { GrantContext, IssuedToken } from "./types.ts";

/** Everything a token exchange has established before it decides what to issue. */
export interface ExchangeDecision {
  exchange: ExchangeRequest;
  client: OrgClient;
  guardrails: MintGuardrails;
  parties: ExchangeParties;
}

/** Issues one `requested_token_type` (grants/token-exchange-access.ts, grants/token-exchange-id-jag.ts). */
export type ExchangeIssuer = (decision: ExchangeDecision, context: GrantContext) => Promise<IssuedToken>;
