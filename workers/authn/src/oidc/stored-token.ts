// The form is shared with the token Worker, which finds a refresh token's grant before it takes the grant's turn.
export { storedTokenForm } from "../../../../shared/oidc/stored-token.ts";
