// Machine samples for admission: system CPU load from the kernel's counters in /proc/stat, read
// without blocking, and available memory from systeminformation (which reads /proc/meminfo the same
// way). systeminformation's own CPU sample is not used: on Linux it runs `cat /proc/stat` with
// execSync, which stalls the daemon's tick for 10-20 ms, and moving it to a worker thread cost
// ~10 MB of RSS and most of the idle daemon's CPU.
import { readFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import si from 'systeminformation'
import type { SystemProbe } from './ports.js'

/** Busy and total CPU time of the whole machine so far, in any consistent unit. */
export interface CpuTimes {
  busy: number
  total: number
}

/** The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ... */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.slice(0, text.indexOf('\n'))
  if (!line.startsWith('cpu ')) return null
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return null
  const total = fields.reduce((sum, n) => sum + n, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { busy: total - idle, total }
}

/** Percent of the machine busy between two readings; 0 when no time passed. */
export function busyPercent(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total
  return total > 0 ? Math.min(100, Math.max(0, (100 * (after.busy - before.busy)) / total)) : 0
}

async function cpuTimes(): Promise<CpuTimes> {
  const fromProc = await readFile('/proc/stat', 'latin1').then(parseProcStat, () => null)
  if (fromProc !== null) return fromProc
  // Not Linux: the same counters through libuv.
  let busy = 0
  let total = 0
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle
    busy += all - times.idle
    total += all
  }
  return { busy, total }
}

export function systemProbe(): SystemProbe {
  let last: CpuTimes | null = null
  return {
    async sample() {
      const [times, mem] = await Promise.all([cpuTimes(), si.mem()])
      // The first sample has nothing to compare with: the load since boot stands in for it.
      const cpuPercent = busyPercent(last ?? { busy: 0, total: 0 }, times)
      last = times
      return { cpuPercent, freeBytes: mem.available, totalBytes: mem.total }
    },
  }
}
