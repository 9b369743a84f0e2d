/**
 * The token Worker's `ConsoleAdmin` RPC entrypoint: the admin API
 * (ENDPOINT.admin) for the operator console's signed-in person. Bound only
 * by the authn Worker (`entrypoint = "ConsoleAdmin"`), which serves the
 * console pages (ENDPOINT.console); never reachable from the internet.
 *
 * Why a session and not a token: the console is a page on the identity
 * origin, whose person holds an HttpOnly Better Auth session cookie. The
 * authn Worker reads the session token from the signed cookie on the server
 * (as for the session exchange) and hands it over with the admin request;
 * the token Worker resolves it against D1 on every call (so a sign-out, a
 * ban or a role change acts at once), decides the person's reach — a
 * platform operator (`platform_operator`) acts on every org, an owner or
 * admin of orgs on those only — and runs the very same router, audit and
 * problem details as the bearer API. No admin token is minted, so none can
 * leak from a page.
 */
export interface ConsoleAdminRpc {
  /**
   * Answers `request` (a URL whose path is under ENDPOINT.admin) as the
   * person of the Better Auth session `sessionToken`: 401 `unauthorized`
   * when the session is unknown or expired, 403 `forbidden` when the person
   * is neither a platform operator nor an admin of any org, otherwise what
   * the admin API answers for them (problem details on refusal).
   */
  fetchAs(sessionToken: string, request: Request): Promise<Response>;
}

/** The `client_id` the admin API's audit events name for a console call (its subject is the person). */
export const CONSOLE_CLIENT_ID = "mono-auth-console";

/** Better Auth organization roles that make a member an admin of the org in the console. */
export const ORG_ADMIN_ROLES: readonly string[] = ["owner", "admin"];

/** The binding as the authn Worker declares it (its config.ts). */
export type ConsoleAdminBinding = Service<ConsoleAdminRpc & Rpc.WorkerEntrypointBranded>;
