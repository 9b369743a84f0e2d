import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";

/**
 * The account page's form actions and its one script, all below
 * ENDPOINT.account (one gateway route covers them: workers/gateway/src/routing/route-table.ts).
 */
export const ACCOUNT_PATH = {
  revokeSession: `${ENDPOINT.account}/sessions/revoke`,
  renamePasskey: `${ENDPOINT.account}/passkeys/rename`,
  deletePasskey: `${ENDPOINT.account}/passkeys/delete`,
  enableTwoFactor: `${ENDPOINT.account}/two-factor/enable`,
  confirmTwoFactor: `${ENDPOINT.account}/two-factor/confirm`,
  disableTwoFactor: `${ENDPOINT.account}/two-factor/disable`,
  createKey: `${ENDPOINT.account}/api-keys/create`,
  revokeKey: `${ENDPOINT.account}/api-keys/revoke`,
  switchOrganization: `${ENDPOINT.account}/organizations/switch`,
  memberRole: `${ENDPOINT.account}/members/role`,
  removeMember: `${ENDPOINT.account}/members/remove`,
  /** The WebAuthn ceremonies (pages/webauthn-script.ts): the only script the sign-in and account pages load. */
  webauthnScript: `${ENDPOINT.account}/webauthn.js`,
} as const;
