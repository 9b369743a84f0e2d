import { SignJWT } from "jose";
import {
  type AccessTokenClaims,
  type ActorClaim,
  type DerivedFrom,
  JWT_TYP,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  SIGNING_ALG,
} from "../../../../shared/contracts/tokens.ts";
import { currentSigningKey, type KeyStore } from "../keys/signing-keys.ts";

export interface AccessTokenRequest {
  subject: string;
  audience: string;
  clientId: string;
  orgId: string;
  scope: string;
  roles?: string[];
  sessionId?: string;
  /** RFC 8693 §4.1: who acts for `subject`, outermost the current actor (grants/token-exchange*.ts). */
  actor?: ActorClaim;
  /** The token must not outlive this (seconds), e.g. the session it stands for. */
  notAfter?: number;
  ttlSeconds: number;
  /** RFC 9449 §6.1: binds the token to a DPoP key (endpoints/token.ts decides it once per request). */
  confirmation?: { jkt: string };
  /** The delegation grant it is minted under: its revocation cuts the token off (`grant_id`). */
  grantId?: string;
  /** The grants of the tokens it was made from (`grant_chain`): each one's revocation cuts it off too. */
  grantChain?: readonly string[];
  /** The client of each browser grant of grantChain (`grant_chain_clients`, grant-chain-clients.ts grantChainClientsFor). */
  grantChainClients?: Readonly<Record<string, string>>;
  /** The tokens it was derived from (`derived_from`): the revocation of any of them cuts it off too. */
  derivedFrom?: readonly DerivedFrom[];
}

export interface MintedAccessToken {
  token: string;
  claims: AccessTokenClaims;
  expiresIn: number;
}

/**
 * Mints an RFC 9068 access token. Every grant that issues access tokens
 * goes through here, so the claim set and the header are the same for all.
 *
 * `authorizedAtMs` is a moment taken before the caller read anything that
 * allowed the token (the client row, a session, a membership, a delegation
 * grant), and it is the token's `iat`, not the moment of signing. A
 * subject, client or org revocation cuts off tokens issued at or before its
 * time (shared/revocation/is-token-revoked.ts), and every producer records
 * it after the change it stands for (a client disabled, sessions ended), so
 * a mint that read the old state started before the change and its token
 * is cut off too, however long the mint took to finish. With the signing
 * time as `iat`, a mint that read the old state and signed in the next
 * second would outlive the revocation.
 */
export async function mintAccessToken(
  keys: KeyStore,
  issuer: string,
  request: AccessTokenRequest,
  authorizedAtMs: number,
): Promise<MintedAccessToken> {
  const iat = Math.floor(authorizedAtMs / 1000);
  const ttl = Math.min(request.ttlSeconds, MAX_ACCESS_TOKEN_TTL_SECONDS);
  const exp = Math.min(iat + ttl, request.notAfter ?? Number.POSITIVE_INFINITY);
  const claims: AccessTokenClaims = {
    iss: issuer,
    sub: request.subject,
    aud: request.audience,
    exp,
    iat,
    jti: crypto.randomUUID(),
    client_id: request.clientId,
    scope: request.scope,
    org_id: request.orgId,
    ...(request.roles ? { roles: request.roles } : {}),
    ...(request.sessionId ? { sid: request.sessionId } : {}),
    ...(request.actor ? { act: request.actor } : {}),
    ...(request.confirmation ? { cnf: { jkt: request.confirmation.jkt } } : {}),
    ...(request.grantId ? { grant_id: request.grantId } : {}),
    ...(request.grantChain?.length ? { grant_chain: [...request.grantChain] } : {}),
    ...(request.grantChain?.length && request.grantChainClients
      ? { grant_chain_clients: { ...request.grantChainClients } }
      : {}),
    ...(request.derivedFrom?.length ? { derived_from: request.derivedFrom.map((ancestor) => ({ ...ancestor })) } : {}),
  };
  const key = await currentSigningKey(keys);
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: JWT_TYP.accessToken, kid: key.kid })
    .sign(key.privateKey);
  return { token, claims, expiresIn: exp - iat };
}
