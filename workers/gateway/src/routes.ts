/**
 * The gateway's route table: which paths of the one origin go where, and
 * which are protected (token + policy) rather than public (login, tokens).
 */
export type Upstream = "AUTHN" | "TOKEN" | "DEMO";

export interface PublicRoute {
  kind: "public";
  upstream: Upstream;
}

export interface ProtectedRoute {
  kind: "protected";
  upstream: Upstream;
  /** The resource type and action the PDP is asked about. */
  resource: string;
  action: string;
  methods: readonly string[];
}

export type Route = PublicRoute | ProtectedRoute;

const PUBLIC_EXACT: ReadonlyMap<string, Upstream> = new Map(
  Object.entries({
    "/": "AUTHN",
    "/sign-in": "AUTHN",
    "/sign-up": "AUTHN",
    "/sign-out": "AUTHN",
    "/app": "AUTHN",
  }) as [string, Upstream][],
);

const PUBLIC_PREFIX: readonly (readonly [string, Upstream])[] = [
  ["/api/auth/", "AUTHN"],
  ["/.well-known/", "TOKEN"],
  ["/oauth2/", "TOKEN"],
];

const PROTECTED: readonly (ProtectedRoute & { path: string })[] = [
  {
    kind: "protected",
    path: "/api/documents",
    upstream: "DEMO",
    resource: "documents",
    action: "read",
    methods: ["GET", "HEAD"],
  },
];

/** Exact path or a sub-path of it; `/api/documentsX` is not `/api/documents`. */
function under(pathname: string, path: string): boolean {
  return pathname === path || pathname.startsWith(`${path}/`);
}

export function matchRoute(pathname: string): Route | undefined {
  for (const route of PROTECTED) if (under(pathname, route.path)) return route;
  const exact = PUBLIC_EXACT.get(pathname);
  if (exact) return { kind: "public", upstream: exact };
  for (const [prefix, upstream] of PUBLIC_PREFIX) {
    if (pathname.startsWith(prefix)) return { kind: "public", upstream };
  }
  return undefined;
}
