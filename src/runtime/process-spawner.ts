// Real processes: each run in its own process group, output appended to the task's log file.
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import type { TaskSpec } from '../core/types.js'
import type { ExitStatus, SpawnResult, Spawner } from './ports.js'

export class ProcessSpawner implements Spawner {
  async spawn(spec: TaskSpec, logFile: string, onExit: (status: ExitStatus) => void): Promise<SpawnResult> {
    mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 })
    const fd = openSync(logFile, 'a', 0o600)
    try {
      // detached: the child leads a new session and process group, so signals reach its whole tree.
      const child = spawn(spec.script, spec.args, {
        cwd: spec.cwd ?? undefined,
        env: { ...process.env, ...spec.env, SUPERVISOR_TASK: spec.name },
        detached: true,
        stdio: ['ignore', fd, fd],
      })
      return await new Promise<SpawnResult>((resolve) => {
        child.once('spawn', () => resolve({ pid: child.pid as number }))
        child.once('error', (error) => resolve({ error: error.message }))
        child.once('exit', (code, signal) => onExit({ pid: child.pid as number, code, signal }))
      })
    } finally {
      closeSync(fd)
    }
  }

  signalGroup(pid: number, signal: NodeJS.Signals): boolean {
    try {
      process.kill(-pid, signal)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
      throw error
    }
  }
}
