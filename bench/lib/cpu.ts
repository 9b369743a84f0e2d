// CPU time used by a process group (a `wrangler dev` and everything it
// started: its Node process, the proxy and the Workers' workerd), from
// Linux's /proc. Throughput on a shared 2-core machine moves with whatever
// else runs; the CPU a contestant spends per request moves much less, so
// the bench reports both. Elsewhere than Linux it is unavailable (null).
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: /proc reports CPU time in ticks of 1/100 s on every Linux the bench runs on. */
const TICKS_PER_SECOND = 100;

/** Seconds of CPU (user + system) used so far by the live processes of group `pgid`, or null. */
export function groupCpuSeconds(pgid: number): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces, inside parentheses).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // proc(5): field 5 pgrp, 14 utime, 15 stime (1-based over the whole line).
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}
