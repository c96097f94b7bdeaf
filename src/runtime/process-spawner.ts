// Real processes: each run in its own process group, as its user, output appended to the task's logs.
// The fork itself happens in the launcher (a small helper process), so its cost does not grow with
// the daemon's memory; signals go straight from the daemon to the process groups.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TaskSpec } from '../core/types.js'
import type { LaunchReply, LaunchRequest } from './launcher.js'
import type { LogPolicy } from './log-files.js'
import type { ExitStatus, SpawnResult, Spawner } from './ports.js'
import { accountEnv, runAsCommand, type RunCommand } from './run-as.js'
import { lookupUser } from './users.js'
import * as cgroups from './cgroups.js'
import { describeContainment, detectCgroups, type CgroupBases } from './cgroups.js'

const LAUNCHER = fileURLToPath(new URL('./launcher.js', import.meta.url))

export class ProcessSpawner implements Spawner {
  private launcher: ChildProcess | null = null
  private nextId = 1
  /** Requests sent, by id: how to answer, and whom to tell of the exit. */
  private readonly waiting = new Map<number, { resolve: (result: SpawnResult) => void; onExit: (status: ExitStatus) => void }>()
  private readonly running = new Map<number, (status: ExitStatus) => void>()
  /** Each run's cgroup, by its leader's pid, until its exit has been handled. */
  private readonly cgroupOf = new Map<number, string>()
  private closing = false

  /** Where runs get cgroups of their own; null where the kernel offers none (process groups only). */
  private readonly cgroups: CgroupBases | null

  constructor(private readonly paths: { home: string; logs: string; logPolicy: LogPolicy }, options: { cgroups?: boolean } = {}) {
    this.cgroups = options.cgroups === false ? null : detectCgroups(paths.home)
  }

  async spawn(spec: TaskSpec, onExit: (status: ExitStatus) => void): Promise<SpawnResult> {
    const command = await this.command(spec)
    if ('error' in command) return command
    const request: LaunchRequest = {
      id: this.nextId++,
      ...command,
      // A run as the daemon's user gets the daemon's environment (the launcher's) with its own over it.
      inheritEnv: spec.user === null,
      logs: { dir: this.paths.logs, task: spec.name, policy: this.paths.logPolicy },
      memoryBytes: spec.memoryBytes,
    }
    return new Promise<SpawnResult>((resolve) => {
      this.waiting.set(request.id, { resolve, onExit })
      this.ensureLauncher().send(request)
    })
  }

  /** The script itself, or, for a task with a `user`, the command that runs it as that user. */
  private async command(spec: TaskSpec): Promise<RunCommand | { error: string }> {
    const marks = { SUPERVISOR_HOME: this.paths.home, SUPERVISOR_TASK: spec.name }
    if (spec.user === null) return { file: spec.script, args: spec.args, env: { ...spec.env, ...marks }, cwd: spec.cwd }
    const account = await lookupUser(spec.user)
    if (account === null) return { error: `user "${spec.user}" does not exist` }
    const env = { ...accountEnv(account, process.env['LANG']), ...spec.env, ...marks }
    return runAsCommand(account, spec.script, spec.args, env, spec.cwd)
  }

  /**
   * Signal everything of a run: its process group and, in a cgroup, every process in it (those that
   * left the group with setsid too; SIGKILL through `cgroup.kill`). False once nothing of it is left.
   */
  signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
    let alive = false
    const name = this.cgroupOf.get(pid)
    if (this.cgroups !== null && name !== undefined) {
      const run = cgroups.runCgroup(this.cgroups, name)
      const members = cgroups.members(run)
      alive = members.length > 0
      if (signal === 'SIGKILL' && alive) cgroups.kill(run)
      else if (signal !== 0) for (const member of members) signalProcess(member, signal)
    }
    return signalProcess(-pid, signal) || alive
  }

  groupAlive(pid: number): boolean {
    return this.signalGroup(pid, 0)
  }

  get launcherPid(): number | null {
    return this.launcher?.pid ?? null
  }

  /** How runs are contained here (for `ctl info`). */
  get containment(): string {
    return describeContainment(this.cgroups)
  }

  /** Whether the kernel holds runs to their `memory` (else the daemon's monitor must). */
  get kernelMemoryLimit(): boolean {
    return this.cgroups?.memoryVersion != null
  }

  /** Runs' cgroups left by a daemon that died: everything in them ends, and they are removed. */
  endLeftoverCgroups(): void {
    if (this.cgroups === null) return
    for (const name of cgroups.allRuns(this.cgroups)) {
      const run = cgroups.runCgroup(this.cgroups, name)
      cgroups.kill(run)
      cgroups.remove(run)
    }
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
    if (this.cgroups !== null) cgroups.removeBases(this.cgroups)
  }

  private ensureLauncher(): ChildProcess {
    if (this.launcher !== null) return this.launcher
    const launcher = fork(LAUNCHER, [JSON.stringify(this.cgroups)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
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
      this.cgroupOf.delete(message.exit.pid)
      return
    }
    // The pid is known before any later message is read: an exit can follow in the same chunk.
    const request = this.waiting.get(message.id)
    this.waiting.delete(message.id)
    if (request === undefined) return
    if ('pid' in message) {
      this.running.set(message.pid, request.onExit)
      if (message.cgroup !== null) this.cgroupOf.set(message.pid, message.cgroup)
    }
    request.resolve(message)
  }

  /**
   * The launcher died under us (it ignores the signals meant for the daemon, so this is rare): the
   * runs it watched cannot report their exit any more, so they are ended and reported as interrupted,
   * a failure of the supervisor's, not the task's (no retry spent, queued again).
   */
  private lost(launcher: ChildProcess): void {
    if (this.launcher === launcher) this.launcher = null
    for (const { resolve } of this.waiting.values()) resolve({ error: 'the launcher process ended' })
    this.waiting.clear()
    if (this.closing) return
    for (const [pid, onExit] of this.running) {
      this.signalGroup(pid, 'SIGKILL')
      onExit({ pid, code: null, signal: 'SIGKILL', interrupted: true })
    }
    this.running.clear()
    this.cgroupOf.clear()
  }
}

/** Signal one process (or, negative, a process group); false if it is gone. */
function signalProcess(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw error
  }
}
