import { expect } from "vitest";
import type { CliRun } from "./mono-auth-cli.ts";

/** A CLI refusal: a non-zero exit, nothing on stdout (so `--json` readers see no document), the reason on stderr. */
export async function expectCliRefusal(result: Promise<CliRun>, message: RegExp): Promise<void> {
  const { code, stdout, stderr } = await result;
  expect(code).not.toBe(0);
  expect(stdout).toBe("");
  expect(stderr).toMatch(message);
}
