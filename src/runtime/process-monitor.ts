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
    const stats = await pidusage(pids)
    for (const [pgid, group] of members) {
      let memory = 0
      let cpu = 0
      for (const pid of group) {
        const stat = stats[pid] as { memory: number; cpu: number } | null | undefined
        memory += stat?.memory ?? 0
        cpu += stat?.cpu ?? 0
      }
      usage.set(pgid, { memory, cpu })
    }
    return usage
  },
}
