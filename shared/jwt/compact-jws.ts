/**
 * A JWS compact serialization (RFC 7515 §7.1): three base64url segments,
 * none empty. Every verifier tests a token against it before parsing
 * anything, so a malformed token costs no JSON or base64 decoding.
 */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
