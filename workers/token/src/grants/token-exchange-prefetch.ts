import { decodeJwt } from "jose";
import type { RevocableClaims } from "../../../../shared/contracts/revocation.ts";
import { CLOCK_TOLERANCE_SECONDS } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import type { TokenConfig } from "../config.ts";
import { recentKeyResolver } from "../keys/database-key-resolver.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";
import { actorTokenVerifier, subjectTokenVerifier } from "../subject-tokens/registry.ts";
import type { SignedToken, TokenRole, TokenVerifier } from "../subject-tokens/types.ts";
import type { GrantContext, TokenParams } from "./types.ts";

/** A presented token as verified before the request's own read of our keys, and the key that verified it. */
export interface EarlyToken {
  token: string;
  signed: SignedToken;
  kid: string;
  key: CryptoKey;
}

/**
 * What a token exchange starts while its client authenticates
 * (GrantHandler.prefetch), so that the revocation check costs no round trip
 * after authentication: without it, an exchange with an actor waited for the
 * client's D1 read, then for its org's Durable Object (bench/README.md,
 * "Measured"). The delegation grants need no read here: they come in the
 * client's own statement (exchangeDelegationSubject). The checks themselves,
 * their order and their refusals are unchanged (grants/token-exchange.ts):
 * this only starts reads, and the exchange relies on what it read only where
 * it is exactly what it would have read itself — the same tokens, verified
 * with the very key the request's own read of our keys gives
 * (confirmEarlyToken).
 */
export interface ExchangePrefetch {
  subject: EarlyToken;
  actor?: EarlyToken;
  /** OrgState.areRevoked for [subject, actor], in that order (subject-tokens/not-revoked.ts). */
  revoked: Promise<readonly boolean[]>;
}

/**
 * Starts an exchange's reads before client authentication, or does nothing.
 * It starts them only for tokens whose signatures verify with a key this
 * isolate imported and its latest read of our keys, moments ago, found
 * published (keys/database-key-resolver.ts recentKeyResolver): so only a
 * holder of a genuine token of ours makes it read anything, and only that
 * token's own org object. Never throws, and never leaves a
 * rejected promise unhandled: a refusal is for the exchange to make, in its
 * order, after authentication.
 */
export async function prefetchExchange(
  params: TokenParams,
  context: Pick<GrantContext, "env" | "config">,
): Promise<ExchangePrefetch | undefined> {
  try {
    const resolveKey = recentKeyResolver();
    if (!resolveKey) return undefined;
    const subjectVerifier = subjectTokenVerifier(params.get("subject_token_type") ?? "");
    const actorToken = params.get("actor_token");
    const actorVerifier = actorTokenVerifier(params.get("actor_token_type") ?? "");
    const verify = (token: string | undefined, role: TokenRole, verifier: TokenVerifier | undefined) =>
      token && verifier ? verifyEarly(token, role, verifier, context.config, resolveKey) : undefined;
    const [subject, actor] = await Promise.all([
      verify(params.get("subject_token"), "subject_token", subjectVerifier),
      actorToken === undefined ? undefined : verify(actorToken, "actor_token", actorVerifier),
    ]);
    if (!subject || (actorToken !== undefined && !actor)) return undefined;
    const tokens = actor ? [subject, actor] : [subject];
    const revoked = new RevocationReader(context.env.ORG_STATE).areRevoked(tokens.map((t) => t.signed.revocable));
    revoked.catch(() => undefined);
    return { subject, ...(actor ? { actor } : {}), revoked };
  } catch {
    return undefined;
  }
}

/**
 * Tokens this isolate verified early, per configuration and verifier, by
 * role and token text, at most REMEMBERED_MAX of them (least recently used
 * dropped first). An agent presents the same actor token, and often the same
 * subject token, exchange after exchange: checking the same signature with
 * the same key again gives the same answer, and it was, with jose's claim
 * checks, most of what an exchange costs beyond a client_credentials mint
 * under wrangler dev (bench/README.md, "Measured"). What depends on the time
 * is checked again on every use (rememberedValid); the key must be the very
 * key this isolate's latest read of our keys still publishes (the same check
 * as a fresh verification's, recentKeyResolver), and the request's own read
 * confirms it once more (confirmEarlyToken). Revocation is never remembered:
 * it is asked of the org's object on every exchange.
 */
const remembered = new WeakMap<TokenConfig, WeakMap<TokenVerifier, Map<string, EarlyToken>>>();
const REMEMBERED_MAX = 256;

function rememberedFor(config: TokenConfig, verifier: TokenVerifier): Map<string, EarlyToken> {
  let byVerifier = remembered.get(config);
  if (!byVerifier) {
    byVerifier = new WeakMap();
    remembered.set(config, byVerifier);
  }
  let tokens = byVerifier.get(verifier);
  if (!tokens) {
    tokens = new Map();
    byVerifier.set(verifier, tokens);
  }
  return tokens;
}

/**
 * The time checks of verifyAccessToken (shared/jwt/verify-access-token.ts),
 * with its tolerance, for a token verified before: not expired, not issued
 * in the future, not before its `nbf`.
 */
function rememberedValid(signed: SignedToken, now: number): boolean {
  const claims = signed.revocable as RevocableClaims & { exp?: unknown; nbf?: unknown };
  if (typeof claims.exp !== "number" || claims.exp <= now - CLOCK_TOLERANCE_SECONDS) return false;
  if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) return false;
  return claims.nbf === undefined || (typeof claims.nbf === "number" && claims.nbf <= now + CLOCK_TOLERANCE_SECONDS);
}

/** One token through its verifier (or as this isolate verified it before), noting the key; undefined if it does not verify. */
async function verifyEarly(
  token: string,
  role: TokenRole,
  verifier: TokenVerifier,
  config: GrantContext["config"],
  recent: KeyResolver,
): Promise<EarlyToken | undefined> {
  const memo = rememberedFor(config, verifier);
  const memoKey = `${role} ${token}`;
  const before = memo.get(memoKey);
  if (before) {
    memo.delete(memoKey);
    if ((await recent(before.kid)) === before.key && rememberedValid(before.signed, Math.floor(Date.now() / 1000))) {
      memo.set(memoKey, before);
      return before;
    }
  }
  let used: { kid: string; key: CryptoKey } | undefined;
  const resolveKey: KeyResolver = async (kid) => {
    const key = await recent(kid);
    if (key) used = { kid, key };
    return key;
  };
  try {
    const signed = await verifier(token, role, { config, resolveKey });
    if (!used) return undefined;
    const early = { token, signed, ...used };
    if (memo.size >= REMEMBERED_MAX) memo.delete(memo.keys().next().value as string);
    memo.set(memoKey, early);
    return early;
  } catch {
    return undefined;
  }
}

/**
 * The early verification of `token`, if it is this token's and the request's
 * own resolver (D1, read for this request) gives the very key that verified
 * it: then verifying again would check the same signature and claims with
 * the same key, so it is not done twice. Otherwise undefined: verify as usual.
 */
export async function confirmEarlyToken(
  early: EarlyToken | undefined,
  token: string,
  resolveKey: KeyResolver,
): Promise<SignedToken | undefined> {
  if (!early || early.token !== token) return undefined;
  return (await resolveKey(early.kid)) === early.key ? early.signed : undefined;
}

/**
 * GrantHandler.delegationSubject for a token exchange: the `sub` of the
 * subject token as it reads before verification, when the exchange will act
 * for it — an actor token is presented, or the subject token already names
 * an actor (grants/token-exchange-parties.ts). The endpoint reads that
 * subject's grants to the authenticating client in the client's statement;
 * the exchange uses them only if the verified subject is this one
 * (grants/token-exchange.ts), so a forged value reads nothing it will use.
 */
export function exchangeDelegationSubject(params: TokenParams): string | undefined {
  const token = params.get("subject_token");
  if (!token) return undefined;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    return undefined;
  }
  if (params.get("actor_token") === undefined && claims.act === undefined) return undefined;
  return typeof claims.sub === "string" ? claims.sub : undefined;
}
