// Reading /proc (Linux): process start times, process groups, and runs of this home left by a crash.
import { readdirSync, readFileSync } from 'node:fs'

interface ProcStat {
  pid: number
  pgrp: number
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  startTime: string
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { pid, pgrp: Number(fields[2]), startTime: fields[19] ?? '' }
  } catch {
    return null
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number)
  } catch {
    return []
  }
}

export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null
}

/** Members of each of the given process groups, found in one pass over /proc. */
export function groupMembers(pgids: ReadonlySet<number>): Map<number, number[]> {
  const members = new Map<number, number[]>()
  if (pgids.size === 0) return members
  for (const pid of allPids()) {
    const stat = readStat(pid)
    if (stat === null || !pgids.has(stat.pgrp)) continue
    const list = members.get(stat.pgrp) ?? []
    list.push(pid)
    members.set(stat.pgrp, list)
  }
  return members
}

/**
 * Process groups of task runs started from `home` (their environment says so) that are still alive:
 * after a crash, also the runs whose start the daemon had no time to record.
 */
export function strayGroups(home: string, self: number = process.pid): Set<number> {
  const groups = new Set<number>()
  for (const pid of allPids()) {
    if (pid === self) continue
    let environ: string
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8')
    } catch {
      continue
    }
    const vars = environ.split('\0')
    if (!vars.includes(`SUPERVISOR_HOME=${home}`) || !vars.some((v) => v.startsWith('SUPERVISOR_TASK='))) continue
    const stat = readStat(pid)
    if (stat !== null) groups.add(stat.pgrp)
  }
  return groups
}
