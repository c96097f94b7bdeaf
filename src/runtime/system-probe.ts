// Machine samples for admission: system CPU load and available memory, from systeminformation.
import si from 'systeminformation'
import type { SystemProbe } from './ports.js'

export const systemProbe: SystemProbe = {
  async sample() {
    const [load, mem] = await Promise.all([si.currentLoad(), si.mem()])
    return { cpuPercent: load.currentLoad, freeBytes: mem.available, totalBytes: mem.total }
  },
}
