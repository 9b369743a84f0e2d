/**
 * The members a private or symmetric JWK has and a public one never
 * (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). A key presented as public
 * that carries any of them is refused, never trimmed: its holder exposed
 * its private key.
 */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;
