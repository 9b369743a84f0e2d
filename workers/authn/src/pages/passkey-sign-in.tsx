import { ACCOUNT_PATH } from "./account-paths.ts";

/** The sign-in page's passkey button; the ceremony is pages/webauthn-script.ts, loaded with the page's nonce. */
export function PasskeySignIn(props: { nonce: string }) {
  return (
    <section aria-labelledby="passkey-sign-in-heading">
      <h2 id="passkey-sign-in-heading" class="muted">
        Or
      </h2>
      <p>
        <button id="passkey-sign-in" class="secondary" type="button">
          Sign in with a passkey
        </button>
      </p>
      <p id="passkey-sign-in-status" role="status" class="muted" data-testid="passkey-sign-in-status"></p>
      <script nonce={props.nonce} src={ACCOUNT_PATH.webauthnScript} defer />
    </section>
  );
}
