/** OAuth scopes (RFC 6749 §3.3) Mono-Auth understands, spelled once. */
export const SCOPE = {
  /** Read the demo service's documents through the gateway. */
  documentsRead: "documents:read",
} as const;

export type Scope = (typeof SCOPE)[keyof typeof SCOPE];

export const ALL_SCOPES: ReadonlySet<string> = new Set(Object.values(SCOPE));
