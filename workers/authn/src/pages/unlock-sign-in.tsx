import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { isAccountUnlockToken } from "../limits/account-unlock.ts";
import { redeemAccountUnlockLink } from "../limits/account-unlock-redemption.ts";
import { UNLOCK_REQUESTED } from "../limits/account-unlock-endpoint.ts";
import { clearAccountThrottle } from "../limits/sign-in-throttle.ts";
import { unlockCookie, verifyUnlockToken } from "../limits/unlock-sign-in.ts";
import { crossOriginPost, type FlowContext, FlowPage, formFields, overLimit } from "./flow-kit.tsx";
import { TOO_MANY_ATTEMPTS } from "./handlers.tsx";

/**
 * ENDPOINT.unlockSignIn, the owner's way past what failed sign-ins set up:
 * - with a link mailed when the account started being slowed
 *   (limits/unlock-sign-in.ts): a button, then a same-origin POST that clears
 *   the account's delay and leaves this browser the unlock cookie, past the
 *   account's own limits for the link's life; the address's limits stay;
 * - without a link: "Locked out?", the request for a link that also lifts the
 *   consecutive-failure lock (limits/account-unlock.ts), answered alike for
 *   every address;
 * - with that link: a button, then a POST that spends it once, clears the
 *   lock and the delay and leaves the same cookie. Neither link signs anyone in.
 * A mail scanner's GET changes nothing: only the POST acts.
 */
const TITLE = "Sign in without waiting";
const REQUEST_TITLE = "Locked out?";
const UNLOCK_TITLE = "Unlock your account";
const INVALID_LINK = "This link is invalid or has expired.";
const LINK_USED = "This link has already been used. Ask for a new one if you are still locked out.";

function RequestForm() {
  return (
    <form class="card" method="post" action={ENDPOINT.unlockSignIn}>
      <p>If failed sign-ins locked or slowed down your account, we can email you a link that unlocks it.</p>
      <label>
        Email
        <input name="email" type="email" autocomplete="email" required maxlength={254} />
      </label>
      <button type="submit">Send me an unlock link</button>
    </form>
  );
}

function ErrorCode(props: { code: string }) {
  return (
    <p class="muted" data-testid="error-code">
      {props.code}
    </p>
  );
}

export function showUnlockSignIn(c: FlowContext) {
  const token = c.req.query("token") ?? "";
  const nonce = c.var.nonce;
  if (!token) {
    return c.html(
      <FlowPage title={REQUEST_TITLE} nonce={nonce}>
        <RequestForm />
      </FlowPage>,
    );
  }
  const accountLink = isAccountUnlockToken(token);
  return c.html(
    <FlowPage title={accountLink ? UNLOCK_TITLE : TITLE} nonce={nonce}>
      <form class="card" method="post" action={ENDPOINT.unlockSignIn}>
        <input type="hidden" name="token" value={token} />
        <button type="submit">{accountLink ? "Unlock my account" : "Let me sign in now"}</button>
      </form>
    </FlowPage>,
  );
}

export async function submitUnlockSignIn(c: FlowContext) {
  const refused = crossOriginPost(c);
  if (refused) return refused;
  const field = await formFields(c);
  const token = field("token");
  const email = field("email").trim();
  if (!token && email) return requestUnlockLink(c, email);
  const nonce = c.var.nonce;
  const limited = await overLimit(c, undefined);
  if (limited) {
    return c.html(
      <FlowPage title={TITLE} nonce={nonce} error={TOO_MANY_ATTEMPTS}>
        <ErrorCode code="rate_limited" />
      </FlowPage>,
      429,
      limited,
    );
  }
  if (isAccountUnlockToken(token)) return unlockAccount(c, token);
  const config = authnConfig(c.env);
  const account = await verifyUnlockToken(config.betterAuthSecret, token);
  if (!account) {
    return c.html(<FlowPage title={TITLE} nonce={nonce} error={INVALID_LINK} />, 400);
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

/** "Send me an unlock link": the same budget per address as every credential post, a per-account one of its own. */
async function requestUnlockLink(c: FlowContext, email: string) {
  const nonce = c.var.nonce;
  const limited = await overLimit(c, email, "unlock-request");
  if (limited) {
    return c.html(
      <FlowPage title={REQUEST_TITLE} nonce={nonce} error={TOO_MANY_ATTEMPTS}>
        <ErrorCode code="rate_limited" />
      </FlowPage>,
      429,
      limited,
    );
  }
  const response = await getAuth(c.env).api.requestAccountUnlock({
    body: { email },
    headers: c.req.raw.headers,
    asResponse: true,
  });
  // Only a malformed address is refused, and that says nothing about accounts.
  if (response.status === 400) {
    return c.html(
      <FlowPage title={REQUEST_TITLE} nonce={nonce} error="Enter a valid email address.">
        <RequestForm />
      </FlowPage>,
      400,
    );
  }
  return c.html(
    <FlowPage title="Check your inbox" nonce={nonce}>
      <p data-testid="notice">{UNLOCK_REQUESTED}</p>
    </FlowPage>,
  );
}

async function unlockAccount(c: FlowContext, token: string) {
  const nonce = c.var.nonce;
  const outcome = await redeemAccountUnlockLink(c.env, token, {
    path: ENDPOINT.unlockSignIn,
    headers: c.req.raw.headers,
    waitUntil: (work) => c.executionCtx.waitUntil(work),
  });
  if (!outcome.unlocked) {
    return c.html(
      <FlowPage title={UNLOCK_TITLE} nonce={nonce} error={outcome.reason === "link_used" ? LINK_USED : INVALID_LINK}>
        <ErrorCode code={outcome.reason} />
      </FlowPage>,
      400,
    );
  }
  // As the delay's link does: this browser is past the account's own limits for a while.
  c.header("Set-Cookie", outcome.unlockCookie, { append: true });
  return c.html(
    <FlowPage title={UNLOCK_TITLE} nonce={nonce}>
      <p data-testid="account-unlocked">
        Done: your account is unlocked. Sign in with your password. <a href={ENDPOINT.signIn}>Sign in</a>
      </p>
    </FlowPage>,
  );
}
