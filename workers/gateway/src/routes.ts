import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";

/**
 * The gateway's route table: which paths of the one origin go where, and
 * which are protected (token + policy) rather than public (login, tokens).
 * Every path comes from shared/contracts/endpoints.ts.
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
  /**
   * Whether the downstream may answer with active content (HTML, SVG,
   * scripts) served as the identity origin (forward/downstream-response.ts).
   */
  allowActiveContent: boolean;
}

export type Route = PublicRoute | ProtectedRoute;

const PUBLIC_EXACT: ReadonlyMap<string, Upstream> = new Map<string, Upstream>([
  [ENDPOINT.home, "AUTHN"],
  [ENDPOINT.signIn, "AUTHN"],
  [ENDPOINT.signUp, "AUTHN"],
  [ENDPOINT.signOut, "AUTHN"],
  [ENDPOINT.app, "AUTHN"],
  [ENDPOINT.sessionToken, "AUTHN"],
  [ENDPOINT.token, "TOKEN"],
  [ENDPOINT.revocation, "TOKEN"],
  [ENDPOINT.introspection, "TOKEN"],
  [ENDPOINT.hostBootstrap, "TOKEN"],
  [ENDPOINT.jwks, "TOKEN"],
  [ENDPOINT.authorizationServerMetadata, "TOKEN"],
  [ENDPOINT.openIdConfiguration, "TOKEN"],
]);

/**
 * Better Auth serves its own routes below its prefix; the token Worker
 * serves the admin API below its own, and authenticates its operators itself.
 */
const PUBLIC_PREFIX: readonly (readonly [string, Upstream])[] = [
  [`${ENDPOINT.authApi}/`, "AUTHN"],
  [`${ENDPOINT.admin}/`, "TOKEN"],
];

const PROTECTED: readonly (ProtectedRoute & { path: string })[] = [
  {
    kind: "protected",
    path: ENDPOINT.documents,
    upstream: "DEMO",
    resource: "documents",
    action: "read",
    methods: ["GET", "HEAD"],
    allowActiveContent: false,
  },
  {
    // Demo only: the demo service echoes the request it received, so tests
    // can see exactly what crosses the gateway.
    kind: "protected",
    path: ENDPOINT.demoEcho,
    upstream: "DEMO",
    resource: "demo-echo",
    action: "read",
    methods: ["GET", "HEAD"],
    allowActiveContent: false,
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
