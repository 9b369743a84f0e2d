// Better Auth's password hash (@better-auth/utils/password, the node:crypto
// build Better Auth picks in Node and workerd): scrypt N=16384, r=16, p=1,
// 64-byte key, a 16-byte random salt as hex, the password NFKC-normalised.
// Shared by the Node measurement and the bench's hash Worker.
import { randomBytes, scrypt } from "node:crypto";

export const BETTER_AUTH_SCRYPT = { N: 16384, r: 16, p: 1, dkLen: 64 } as const;

const PASSWORD = "correct horse battery staple";

export function hashOnce(): Promise<void> {
  const { N, r, p, dkLen } = BETTER_AUTH_SCRYPT;
  const salt = randomBytes(16).toString("hex");
  return new Promise((resolve, reject) => {
    scrypt(PASSWORD.normalize("NFKC"), salt, dkLen, { N, r, p, maxmem: 128 * N * r * 2 }, (error) =>
      error ? reject(error) : resolve(),
    );
  });
}
