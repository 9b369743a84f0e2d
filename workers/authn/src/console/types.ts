import type { Context } from "hono";

/** Who the console's person is to the admin API (its GET /me), read once per request. */
export interface ConsoleCaller {
  /** The Better Auth session token, read on the server from the signed cookie; never rendered. */
  sessionToken: string;
  email: string;
  platformOperator: boolean;
  /** The orgs an org admin administers (empty for a platform operator: every org). */
  orgIds: readonly string[];
}

export type ConsoleEnv = {
  Bindings: AuthnEnv;
  Variables: {
    nonce: string;
    body: Uint8Array;
    caller: ConsoleCaller;
    /** The status of the admin API's refusal of this form's action, or of a page's read (a 4xx), if it refused (app.tsx answers with it). */
    refusal?: number;
    /** An origin a page's form may also post (and be redirected) to, besides our own (console/vault-confirm.tsx). */
    formActionOrigin?: string;
    /** consoleSession answered with its step-up page: a session short of its person's second factor. */
    secondFactorPending?: true;
  };
};

export type ConsoleContext = Context<ConsoleEnv>;
