// Reading a daemon's own figures over its control socket: heap, RSS, CPU time.
import { join } from 'node:path'
import { Client } from '../src/cli/client.js'

export interface DaemonStats {
  tasks: number
  memory: NodeJS.MemoryUsage
  cpuUsage: NodeJS.CpuUsage
}

export async function daemonStats(home: string): Promise<DaemonStats> {
  const client = await Client.connect(join(home, 'supervisor.sock'))
  try {
    return await client.call<DaemonStats>('daemon.status')
  } finally {
    client.close()
  }
}

export const mb = (bytes: number): number => bytes / 1024 / 1024
