// Real processes: each run in its own process group, as its user, output appended to the task's logs.
import { spawn } from 'node:child_process'
import type { TaskSpec } from '../core/types.js'
import { closeLogs, openLogs } from './log-files.js'
import type { ExitStatus, SpawnResult, Spawner } from './ports.js'
import { processStartTime } from './proc.js'
import { lookupUser } from './users.js'

export class ProcessSpawner implements Spawner {
  constructor(private readonly paths: { home: string; logs: string }) {}

  async spawn(spec: TaskSpec, onExit: (status: ExitStatus) => void): Promise<SpawnResult> {
    const command = this.command(spec)
    if ('error' in command) return command
    const fds = openLogs(this.paths.logs, spec.name)
    try {
      // detached: the child leads a new session and process group, so signals reach its whole tree.
      const child = spawn(command.file, command.args, {
        cwd: spec.cwd ?? undefined,
        env: { ...process.env, ...command.env, ...spec.env, SUPERVISOR_HOME: this.paths.home, SUPERVISOR_TASK: spec.name },
        detached: true,
        stdio: ['ignore', fds.out, fds.err],
      })
      return await new Promise<SpawnResult>((resolve) => {
        child.once('spawn', () => resolve({ pid: child.pid as number, pidStart: processStartTime(child.pid as number) }))
        child.once('error', (error) => resolve({ error: error.message }))
        child.once('exit', (code, signal) => onExit({ pid: child.pid as number, code, signal }))
      })
    } finally {
      closeLogs(fds)
    }
  }

  /** The script itself, or, for a task with a `user`, setpriv dropping to that user and its groups. */
  private command(spec: TaskSpec): { file: string; args: string[]; env: Record<string, string> } | { error: string } {
    if (spec.user === null) return { file: spec.script, args: spec.args, env: {} }
    const account = lookupUser(spec.user)
    if (account === null) return { error: `user "${spec.user}" does not exist` }
    return {
      file: 'setpriv',
      args: ['--reuid', String(account.uid), '--regid', String(account.gid), '--init-groups', '--', spec.script, ...spec.args],
      env: { HOME: account.home, USER: account.name, LOGNAME: account.name },
    }
  }

  signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
    try {
      process.kill(-pid, signal)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
      throw error
    }
  }
}
