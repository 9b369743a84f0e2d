import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { TRUSTED_DEVICE_DAYS } from "../auth/plugins/two-factor.ts";
import { Layout } from "./layout.tsx";

export interface TwoFactorPageProps {
  nonce: string;
  error?: string;
}

/** The second-factor challenge: a TOTP code, or one backup code. Plain forms, no script. */
export function TwoFactorPage(props: TwoFactorPageProps) {
  return (
    <Layout title="Two-factor authentication" nonce={props.nonce}>
      <style nonce={props.nonce}>
        {
          "label.check { display: flex; gap: .4rem; font-weight: 400; align-items: center; } details { margin-top: 1.25rem; }"
        }
      </style>
      <h1>Two-factor authentication</h1>
      <p class="muted">Enter the 6-digit code your authenticator app shows for Mono-Auth.</p>
      {props.error ? (
        <p class="error" role="alert" data-testid="form-error">
          {props.error}
        </p>
      ) : null}
      <form class="card" method="post" action={ENDPOINT.twoFactor}>
        <label>
          Authentication code
          <input
            name="code"
            inputmode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxlength={6}
            required
            autofocus
          />
        </label>
        <label class="check">
          <input type="checkbox" name="trustDevice" value="on" /> Trust this device for {TRUSTED_DEVICE_DAYS} days
        </label>
        <button type="submit">Verify</button>
      </form>
      <details>
        <summary>Use a backup code instead</summary>
        <form class="card" method="post" action={ENDPOINT.twoFactor}>
          <label>
            Backup code
            <input name="backupCode" autocomplete="off" maxlength={32} required />
          </label>
          <button type="submit">Use backup code</button>
        </form>
      </details>
      <p>
        <a href={ENDPOINT.signIn}>Start again</a>
      </p>
    </Layout>
  );
}
