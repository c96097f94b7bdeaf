// Measuring runs: memory and CPU of each run's whole process group, with pidusage.
import pidusage from 'pidusage'
import type { UsageProbe, GroupUsage } from './ports.js'
import { groupMembers } from './proc.js'

export const processMonitor: UsageProbe = {
  async measure(pgids) {
    const usage = new Map<number, GroupUsage>()
    const members = groupMembers(new Set(pgids))
    const pids = [...members.values()].flat()
    if (pids.length === 0) return usage
    const stats = await usageOf(pids)
    for (const [pgid, group] of members) {
      let memory = 0
      let cpu = 0
      for (const pid of group) {
        const stat = stats[pid]
        memory += stat?.memory ?? 0
        cpu += stat?.cpu ?? 0
      }
      usage.set(pgid, { memory, cpu })
    }
    return usage
  },
}

type Stats = Record<number, { memory: number; cpu: number } | null>

/**
 * pidusage for many pids at once; it gives up on all of them when one has just ended ("No matching
 * pid found"), which between the /proc scan and this call is normal: then each on its own.
 */
async function usageOf(pids: number[]): Promise<Stats> {
  try {
    return (await pidusage(pids)) as unknown as Stats
  } catch {
    const stats: Stats = {}
    for (const pid of pids) stats[pid] = await pidusage(pid).catch(() => null)
    return stats
  }
}
