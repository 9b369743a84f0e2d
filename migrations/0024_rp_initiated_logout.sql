-- RP-initiated logout (OIDC RP-Initiated Logout 1.0) for the browser clients
-- operators registered before it was offered: Better Auth honours an
-- id_token_hint, and puts `sid` in the ID tokens it signs, only for a client
-- with enable_end_session. Clients known by a Client ID Metadata Document
-- (client_discovery_id) or registered dynamically by an org (reference_id)
-- stay as they are: their metadata is their own to describe.
UPDATE oidc_client SET enable_end_session = 1
 WHERE client_discovery_id IS NULL AND reference_id IS NULL;
