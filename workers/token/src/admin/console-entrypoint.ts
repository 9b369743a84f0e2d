import { WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";
import type { ConsoleAdminRpc } from "../../../../shared/contracts/console-admin.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { asProblemResponse } from "../../../../shared/errors/problem.ts";
import { attachConsoleSession, authenticateConsoleSession } from "./console-session.ts";
import { adminRouter } from "./router.ts";
import type { AdminEnv } from "./types.ts";

let consoleApp: Hono<AdminEnv> | undefined;

/** The admin router behind session authentication, mounted where the bearer one is. */
function app(): Hono<AdminEnv> {
  if (!consoleApp) {
    consoleApp = new Hono<AdminEnv>().route(ENDPOINT.admin, adminRouter(authenticateConsoleSession()));
    consoleApp.notFound(() => asProblemResponse(httpErrorResponse("not_found", "no such admin route")));
  }
  return consoleApp;
}

/**
 * The token Worker's `ConsoleAdmin` RPC entrypoint
 * (shared/contracts/console-admin.ts): the admin API as the operator
 * console's signed-in person. Only the authn Worker binds it.
 */
export class ConsoleAdmin extends WorkerEntrypoint<TokenEnv> implements ConsoleAdminRpc {
  async fetchAs(sessionToken: string, request: Request): Promise<Response> {
    // An RPC caller is another Worker, but its arguments are still checked.
    if (!(request instanceof Request) || !new URL(request.url).pathname.startsWith(`${ENDPOINT.admin}/`)) {
      return asProblemResponse(httpErrorResponse("not_found", "no such admin route"));
    }
    const own = new Request(request);
    attachConsoleSession(own, typeof sessionToken === "string" ? sessionToken : "");
    return app().fetch(own, this.env, this.ctx);
  }
}
