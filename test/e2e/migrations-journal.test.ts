// Every migration file is in drizzle-kit's journal (migrations/meta/_journal.json):
// `npm run db:generate` numbers the next migration after the journal's last
// entry, so a file missing from it gets a second migration under its number.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const FOLDERS = ["../../migrations", "../../migrations/audit"];

it.each(FOLDERS)("each .sql file in %s has its journal entry, in order", (folder) => {
  const dir = resolve(import.meta.dirname, folder);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name) => name.slice(0, -".sql".length));
  const journal = JSON.parse(readFileSync(resolve(dir, "meta/_journal.json"), "utf8")) as {
    entries: { idx: number; tag: string }[];
  };
  expect(journal.entries.map((entry) => entry.tag)).toEqual(files);
  expect(journal.entries.map((entry) => entry.idx)).toEqual(files.map((_, idx) => idx));
});
