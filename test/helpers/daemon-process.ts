// A real daemon in a child process, its ctl, its event stream, and a cleanup that leaves nothing behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { after, before } from 'node:test'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { Client } from '../../src/cli/client.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'
import { tempDir } from './temp-dir.js'
import { alive, waitFor } from './wait.js'

/** The built CLI (tests run from dist/test, the CLI is dist/src/cli/main.js). */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
/** The fixtures folder of the repository (dist/test/helpers -> repo root). */
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))
export const fixture = (name: string): string => join(FIXTURES, name)

export interface CtlResult {
  code: number
  stdout: string
  stderr: string
}

/** Run `supervisor ARGS...` to completion. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

/** An event of one type, narrowed. */
export type EventOf<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>

/** Like `runCli`, for a command that might never return: SIGKILLed after `timeoutMs` (then `timedOut`). */
export function runCliWithin(args: string[], timeoutMs: number): Promise<CtlResult & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr, timedOut })
    })
  })
}

export interface StartOptions {
  /** Subscribe to its events from seq 0 (default), as `events` and `waitForEvent` need. */
  follow?: boolean
  /** Flags for node itself, such as --expose-gc. */
  nodeArgs?: string[]
}

export class DaemonProcess {
  readonly events: TaskEvent[] = []
  private client: Client | null = null
  private readonly taskPids = new Set<number>()

  private constructor(
    readonly home: string,
    readonly child: ChildProcess,
    readonly port: number,
    readonly output: { text: string },
  ) {}

  /** Start `supervisor daemon --home HOME --port 0 ...extra` and wait for its `listening` line. */
  static async start(home: string, extra: string[] = [], options: StartOptions = {}): Promise<DaemonProcess> {
    const portFlag = extra.includes('--port') ? [] : ['--port', '0']
    // A loaded test machine must not hold tasks back by CPU, unless a test is about exactly that.
    const cpuFlag = extra.includes('--max-cpu') ? [] : ['--max-cpu', '100']
    const nodeArgs = options.nodeArgs ?? []
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'daemon', '--home', home, ...portFlag, ...cpuFlag, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const output = { text: '' }
    child.stdout?.on('data', (d: Buffer) => (output.text += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output.text += d.toString()))
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${output.text}`)), 15_000)
      const check = (): void => {
        const match = /listening on [^\s:]+:(\d+)/.exec(output.text)
        if (match !== null) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      }
      child.stdout?.on('data', check)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`daemon exited with ${code}:\n${output.text}`))
      })
    })
    const daemon = new DaemonProcess(home, child, port, output)
    if (options.follow !== false) await daemon.follow()
    return daemon
  }

  get pid(): number {
    return this.child.pid as number
  }

  /** `supervisor ctl ARGS... --home HOME`. */
  ctl(args: string[], cwd?: string): Promise<CtlResult> {
    return runCli(['ctl', '--home', this.home, ...args], cwd === undefined ? {} : { cwd })
  }

  async ctlJson<T>(args: string[]): Promise<T> {
    const result = await this.ctl([...args, '--json'])
    if (result.code !== 0) throw new Error(`ctl ${args.join(' ')} failed (${result.code}): ${result.stderr}`)
    return JSON.parse(result.stdout) as T
  }

  /** `ctl add NAME ...args`, which must succeed. */
  async add(name: string, args: string[]): Promise<void> {
    const added = await this.ctl(['add', name, ...args])
    if (added.code !== 0) throw new Error(`ctl add ${name} failed (${added.code}): ${added.stderr}`)
  }

  task(name: string): Promise<TaskView> {
    return this.ctlJson<TaskView>(['status', name])
  }

  /** Resolve with the first event (seen so far or later) that matches. */
  waitForEvent(match: (e: TaskEvent) => boolean, what: string, timeoutMs = 15_000): Promise<TaskEvent> {
    return waitFor(() => this.events.find(match), what, timeoutMs)
  }

  /** The events of one type seen so far (of one task, if named), in seq order. */
  eventsOf<T extends TaskEvent['type']>(type: T, task?: string): EventOf<T>[] {
    return this.events.filter((e): e is EventOf<T> => e.type === type && (task === undefined || e.task === task))
  }

  /** Resolve with the first event of `type` for `task` (seen so far or later) that also matches `match`. */
  waitForType<T extends TaskEvent['type']>(
    type: T, task: string, match: (e: EventOf<T>) => boolean = () => true, timeoutMs = 15_000,
  ): Promise<EventOf<T>> {
    const what = `${type} of ${task}`
    return waitFor(() => this.eventsOf(type, task).find(match), what, timeoutMs)
  }

  /** The pid of the launcher that keeps this daemon's runs (it outlives the daemon). */
  async launcherPid(): Promise<number> {
    const info = await this.ctlJson<{ launcherPid: number | null }>(['info'])
    if (info.launcherPid === null) throw new Error('the daemon has no launcher')
    return info.launcherPid
  }

  /** Kill the daemon with SIGKILL, as a crash would. Its task processes live on; `cleanup` ends them. */
  async crash(): Promise<void> {
    this.client?.close()
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
  }

  /** Stop gracefully (SIGTERM) and return the exit code. */
  async stop(): Promise<number | null> {
    this.client?.close()
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)))
    this.child.kill('SIGTERM')
    return exited
  }

  /** Stop the daemon if it still runs and end every process group any task of it ever started. */
  async cleanup(): Promise<void> {
    const code = this.stop()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await code
    clearTimeout(timer)
    for (const pid of this.taskPids) {
      if (alive(-pid)) process.kill(-pid, 'SIGKILL')
    }
  }

  private async follow(): Promise<void> {
    const client = await Client.connect(join(this.home, 'supervisor.sock'))
    client.onEvent = (event) => {
      this.events.push(event)
      if (event.type === 'run.started') this.taskPids.add(event.pid)
    }
    await client.call('events.subscribe', { since: 0 })
    this.client = client
  }
}

/** What a suite's daemon gives its tests, once its `before` hook has run. */
export interface SuiteDaemon {
  daemon: DaemonProcess
  /** A temporary folder of the suite's own, for the files its scripts write. */
  work: string
}

/**
 * One daemon for a whole describe block (call it inside the block): started on a temporary home before
 * the first test; after the last, stopped with every process it started, and both folders removed.
 */
export function daemonForSuite(flags: string[] = [], options: StartOptions = {}): SuiteDaemon {
  const suite = {} as SuiteDaemon
  const dirs: Awaited<ReturnType<typeof tempDir>>[] = []
  before(async () => {
    const [home, work] = [await tempDir(), await tempDir()]
    dirs.push(home, work)
    suite.work = work.path
    suite.daemon = await DaemonProcess.start(home.path, flags, options)
  })
  after(async () => {
    await suite.daemon?.cleanup()
    for (const dir of dirs) await dir.remove()
  })
  return suite
}
