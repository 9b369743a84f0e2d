import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { authnConfig } from "../config.ts";
import { clearAccountThrottle } from "../limits/sign-in-throttle.ts";
import { unlockCookie, verifyUnlockToken } from "../limits/unlock-sign-in.ts";
import { crossOriginPost, type FlowContext, FlowPage, formFields, overLimit } from "./flow-kit.tsx";
import { TOO_MANY_ATTEMPTS } from "./handlers.tsx";

/**
 * ENDPOINT.unlockSignIn: the owner's link past the sign-in delay
 * (limits/unlock-sign-in.ts). A button, then a same-origin POST that clears
 * the account's failure count and leaves this browser the unlock cookie, past
 * the account's own limits for the link's life; the address's limits stay.
 */
const TITLE = "Sign in without waiting";

export function showUnlockSignIn(c: FlowContext) {
  const token = c.req.query("token") ?? "";
  return c.html(
    <FlowPage title={TITLE} nonce={c.var.nonce}>
      <form class="card" method="post" action={ENDPOINT.unlockSignIn}>
        <input type="hidden" name="token" value={token} />
        <button type="submit">Let me sign in now</button>
      </form>
    </FlowPage>,
  );
}

export async function submitUnlockSignIn(c: FlowContext) {
  const refused = crossOriginPost(c);
  if (refused) return refused;
  const field = await formFields(c);
  const nonce = c.var.nonce;
  const limited = await overLimit(c, undefined);
  if (limited) return c.html(<FlowPage title={TITLE} nonce={nonce} error={TOO_MANY_ATTEMPTS} />, 429, limited);
  const config = authnConfig(c.env);
  const token = field("token");
  const account = await verifyUnlockToken(config.betterAuthSecret, token);
  if (!account) {
    return c.html(<FlowPage title={TITLE} nonce={nonce} error="This link is invalid or has expired." />, 400);
  }
  await clearAccountThrottle(c.env.DB, account);
  c.header("Set-Cookie", unlockCookie(config, token), { append: true });
  return c.html(
    <FlowPage title={TITLE} nonce={nonce}>
      <p data-testid="unlocked">
        Done: your account is no longer slowed down. <a href={ENDPOINT.signIn}>Sign in</a>
      </p>
    </FlowPage>,
  );
}
