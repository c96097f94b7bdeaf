// Real processes: each run in its own process group (and cgroup), as its user, its output in the task's
// logs. The launcher (a small process of its own) forks and keeps the runs, so its cost does not grow
// with the daemon's memory and the runs outlive the daemon; signals go straight from the daemon to the runs.
import type { TaskSpec } from '../core/types.js'
import { LauncherClient, type Hello } from './launcher-client.js'
import type { FromLauncher, LaunchExit, LaunchRequest, RunInfo } from './launcher-protocol.js'
import type { LogPolicy } from './log-files.js'
import type { ExitStatus, SpawnResult, Spawner } from './ports.js'
import { accountEnv, runAsCommand, type RunCommand } from './run-as.js'
import { readEnvFile } from './env-file.js'
import { lookupUser } from './users.js'
import * as cgroups from './cgroups.js'
import { describeContainment, detectCgroups, type CgroupBases } from './cgroups.js'

export class ProcessSpawner implements Spawner {
  private client: LauncherClient | null = null
  private connecting: Promise<LauncherClient> | null = null
  private nextId = 1
  /** Requests sent, by id: how to answer, and whom to tell of the exit. */
  private readonly waiting = new Map<number, { resolve: (result: SpawnResult) => void; onExit: (status: ExitStatus) => void }>()
  private readonly running = new Map<number, (status: ExitStatus) => void>()
  /** Each run's cgroup, by its leader's pid, until its exit has been handled. */
  private readonly cgroupOf = new Map<number, string>()
  private closing = false
  /** Exits a new launcher reported of runs this daemon does not watch (boot takes them). */
  readonly orphanExits: LaunchExit[] = []

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
      task: spec.name,
      ...command,
      // A run as the daemon's user gets the daemon's environment (the launcher's) with its own over it.
      inheritEnv: spec.user === null,
      logs: { dir: this.paths.logs, task: spec.name, policy: this.paths.logPolicy },
      memoryBytes: spec.memoryBytes,
    }
    let client: LauncherClient
    try {
      client = await this.connection()
    } catch (error) {
      return { error: `the launcher cannot be reached: ${(error as Error).message}` }
    }
    return new Promise<SpawnResult>((resolve) => {
      this.waiting.set(request.id, { resolve, onExit })
      client.send({ launch: request })
    })
  }

  /**
   * Connect to the home's launcher (starting one if none runs): the runs it keeps and the exits no
   * daemon has committed yet, for the boot to adopt or record.
   */
  async attach(): Promise<Hello> {
    try {
      return (await this.connection()).hello
    } catch (error) {
      // The daemon will not start: its cgroup folders go (only empty ones can; another launcher's stay).
      if (this.cgroups !== null) cgroups.removeBases(this.cgroups)
      throw error
    }
  }

  /** Watch a run the launcher kept from an earlier daemon, as if this daemon had started it. */
  adopt(run: RunInfo, onExit: (status: ExitStatus) => void): void {
    this.running.set(run.pid, onExit)
    if (run.cgroup !== null) this.cgroupOf.set(run.pid, run.cgroup)
  }

  /** The daemon committed this exit: the launcher may forget it. */
  acknowledge(pid: number, pidStart: string | null): void {
    this.client?.send({ ack: { pid, pidStart } })
  }

  get launcherPid(): number | null {
    return this.client?.hello.pid ?? null
  }

  private connection(): Promise<LauncherClient> {
    if (this.client !== null) return Promise.resolve(this.client)
    this.connecting ??= LauncherClient.open(this.paths.home, JSON.stringify(this.cgroups)).then(
      (client) => {
        this.connecting = null
        this.client = client
        client.onMessage = (message) => this.receive(message)
        client.onLost = () => this.lost(client)
        // Exits a launcher kept from runs no daemon watches now are owed to nobody.
        for (const exit of client.hello.exits) if (!this.running.has(exit.pid)) this.orphanExits.push(exit)
        return client
      },
      (error: unknown) => {
        this.connecting = null
        throw error
      },
    )
    return this.connecting
  }

  /** The script itself, or, for a task with a `user`, the command that runs it as that user. */
  private async command(spec: TaskSpec): Promise<RunCommand | { error: string }> {
    const marks = { SUPERVISOR_HOME: this.paths.home, SUPERVISOR_TASK: spec.name }
    const account = spec.user === null ? null : await lookupUser(spec.user)
    if (spec.user !== null && account === null) return { error: `user "${spec.user}" does not exist` }
    // The env file is read at each start (an edit counts from the next run); the task's own env wins.
    const read = spec.envFile === null ? { vars: {} } : await readEnvFile(spec.envFile, account)
    if ('error' in read) return read
    const fromFile = read.vars
    if (account === null) return { file: spec.script, args: spec.args, env: { ...fromFile, ...spec.env, ...marks }, cwd: spec.cwd }
    const env = { ...accountEnv(account, process.env['LANG']), ...fromFile, ...spec.env, ...marks }
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

  /** How runs are contained here (for `ctl info`). */
  get containment(): string {
    return describeContainment(this.cgroups)
  }

  /** Whether the kernel holds runs to their `memory` (else the daemon's monitor must). */
  get kernelMemoryLimit(): boolean {
    return this.cgroups?.memoryVersion != null
  }

  /** The processes of a kept run: its leader and, in a cgroup, everything in it (setsid escapees too). */
  runMembers(run: RunInfo): number[] {
    if (this.cgroups === null || run.cgroup === null) return [run.pid]
    return [run.pid, ...cgroups.members(cgroups.runCgroup(this.cgroups, run.cgroup))]
  }

  /** Runs' cgroups left by a daemon that died: everything in them ends, and they are removed (but `keep`). */
  endLeftoverCgroups(keep: ReadonlySet<string> = new Set()): void {
    if (this.cgroups === null) return
    for (const name of cgroups.allRuns(this.cgroups)) {
      if (keep.has(name)) continue
      const run = cgroups.runCgroup(this.cgroups, name)
      cgroups.kill(run)
      cgroups.remove(run)
    }
  }

  /** Let the launcher go: every run has ended (the daemon is stopping), so it goes too. */
  async close(): Promise<void> {
    this.closing = true
    await this.client?.close(true)
    this.client = null
    if (this.cgroups !== null) cgroups.removeBases(this.cgroups)
  }

  /** Leave the runs to the launcher: they live on, for the next daemon to re-adopt. */
  async detach(): Promise<void> {
    this.closing = true
    await this.client?.close(false)
    this.client = null
  }

  private receive(message: FromLauncher): void {
    if ('exit' in message) {
      const { exit } = message
      const onExit = this.running.get(exit.pid)
      this.running.delete(exit.pid)
      if (onExit === undefined) return this.acknowledge(exit.pid, exit.pidStart)
      onExit(exit)
      this.cgroupOf.delete(exit.pid)
      return
    }
    if ('started' in message) {
      // The pid is known before any later message is read: an exit can follow in the same chunk.
      const request = this.waiting.get(message.started.id)
      this.waiting.delete(message.started.id)
      if (request === undefined) return
      const { run } = message.started
      this.running.set(run.pid, request.onExit)
      if (run.cgroup !== null) this.cgroupOf.set(run.pid, run.cgroup)
      request.resolve({ pid: run.pid, pidStart: run.pidStart })
      return
    }
    if ('failed' in message) {
      const request = this.waiting.get(message.failed.id)
      this.waiting.delete(message.failed.id)
      request?.resolve({ error: message.failed.error })
    }
  }

  /**
   * The launcher died under us (it ignores the signals meant for the daemon, so this is rare): the
   * runs it watched cannot report their exit any more, so they are ended and reported as interrupted,
   * a failure of the supervisor's, not the task's (no retry spent, queued again). The next run
   * starts a new launcher.
   */
  private lost(client: LauncherClient): void {
    if (this.client === client) this.client = null
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
