/**
 * Host invites as the admin API shows them (docs/endpoints.md, "Host
 * invites"): one shape for the token Worker that answers, the CLI that
 * reads, and the tests.
 */

/** What a listed invite can be; `state=` filters by one of these. */
export const INVITE_STATES = ["pending", "redeemed", "expired"] as const;
export type InviteState = (typeof INVITE_STATES)[number];

/** An invite's grant, creator, times and state: never the invite JWT itself, which is a credential. */
export interface InviteView {
  jti: string;
  org_id: string;
  /** `withdrawn` only in the answer to the withdrawal itself: a withdrawn invite is no longer listed. */
  state: InviteState | "withdrawn";
  labels: Record<string, string>;
  scopes: string[];
  audiences: string[];
  created_by: string;
  created_at: string;
  expires_at: string;
  redeemed_at: string | null;
  /** The client its host became, once redeemed. */
  client_id: string | null;
  /** RFC 9449 §5.2: the host's client must present DPoP proofs (its `oauth_client.require_dpop`). */
  dpop_bound_access_tokens: boolean;
}
