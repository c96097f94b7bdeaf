// Real processes: each run in its own process group, as its user, output appended to the task's logs.
// The fork itself happens in the launcher (a small helper process), so its cost does not grow with
// the daemon's memory; signals go straight from the daemon to the process groups.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TaskSpec } from '../core/types.js'
import type { LaunchReply, LaunchRequest } from './launcher.js'
import { logPath } from './log-files.js'
import type { ExitStatus, SpawnResult, Spawner } from './ports.js'
import { lookupUser } from './users.js'

const LAUNCHER = fileURLToPath(new URL('./launcher.js', import.meta.url))

export class ProcessSpawner implements Spawner {
  private launcher: ChildProcess | null = null
  private nextId = 1
  /** Requests sent, by id: how to answer, and whom to tell of the exit. */
  private readonly waiting = new Map<number, { resolve: (result: SpawnResult) => void; onExit: (status: ExitStatus) => void }>()
  private readonly running = new Map<number, (status: ExitStatus) => void>()
  private closing = false

  constructor(private readonly paths: { home: string; logs: string }) {}

  async spawn(spec: TaskSpec, onExit: (status: ExitStatus) => void): Promise<SpawnResult> {
    const command = await this.command(spec)
    if ('error' in command) return command
    const request: LaunchRequest = {
      id: this.nextId++,
      ...command,
      cwd: spec.cwd,
      // Only what differs from the daemon's own environment, which the launcher inherited.
      env: { ...command.env, ...spec.env, SUPERVISOR_HOME: this.paths.home, SUPERVISOR_TASK: spec.name },
      out: logPath(this.paths.logs, spec.name, 'out'),
      err: logPath(this.paths.logs, spec.name, 'err'),
    }
    return new Promise<SpawnResult>((resolve) => {
      this.waiting.set(request.id, { resolve, onExit })
      this.ensureLauncher().send(request)
    })
  }

  /** The script itself, or, for a task with a `user`, setpriv dropping to that user and its groups. */
  private async command(spec: TaskSpec): Promise<{ file: string; args: string[]; env: Record<string, string> } | { error: string }> {
    if (spec.user === null) return { file: spec.script, args: spec.args, env: {} }
    const account = await lookupUser(spec.user)
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

  groupAlive(pid: number): boolean {
    return this.signalGroup(pid, 0)
  }

  /** Start the launcher now, so that the first run does not wait for it to boot. */
  prepare(): void {
    this.ensureLauncher()
  }

  /** Let the launcher go once nothing runs any more (the daemon is stopping). */
  close(): void {
    this.closing = true
    this.launcher?.disconnect()
    this.launcher = null
  }

  private ensureLauncher(): ChildProcess {
    if (this.launcher !== null) return this.launcher
    const launcher = fork(LAUNCHER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
    launcher.on('message', (message) => this.receive(message as LaunchReply))
    launcher.once('exit', () => this.lost(launcher))
    this.launcher = launcher
    return launcher
  }

  private receive(message: LaunchReply): void {
    if ('exit' in message) {
      const onExit = this.running.get(message.exit.pid)
      this.running.delete(message.exit.pid)
      onExit?.(message.exit)
      return
    }
    // The pid is known before any later message is read: an exit can follow in the same chunk.
    const request = this.waiting.get(message.id)
    this.waiting.delete(message.id)
    if (request === undefined) return
    if ('pid' in message) this.running.set(message.pid, request.onExit)
    request.resolve(message)
  }

  /**
   * The launcher died under us (it ignores the signals meant for the daemon, so this is rare): the
   * runs it watched cannot report their exit any more, so they are ended and reported as killed.
   */
  private lost(launcher: ChildProcess): void {
    if (this.launcher === launcher) this.launcher = null
    for (const { resolve } of this.waiting.values()) resolve({ error: 'the launcher process ended' })
    this.waiting.clear()
    if (this.closing) return
    for (const [pid, onExit] of this.running) {
      this.signalGroup(pid, 'SIGKILL')
      onExit({ pid, code: null, signal: 'SIGKILL' })
    }
    this.running.clear()
  }
}
