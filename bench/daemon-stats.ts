// Reading a daemon's own figures over its control socket: heap, RSS, CPU time.
import { join } from 'node:path'
import { Client } from '../src/cli/client.js'

export interface DaemonStats {
  tasks: number
  memory: NodeJS.MemoryUsage
  cpuUsage: NodeJS.CpuUsage
}

/** The daemon's figures; with `gc`, after a full collection (the daemon must run with --expose-gc). */
export async function daemonStats(home: string, gc = false): Promise<DaemonStats> {
  const client = await Client.connect(join(home, 'supervisor.sock'))
  try {
    return await client.call<DaemonStats>('daemon.status', gc ? { gc: true } : {})
  } finally {
    client.close()
  }
}

export const mb = (bytes: number): number => bytes / 1024 / 1024
