// Fake ports (clock, spawner, probes) and a Supervisor wired to them, for runtime tests with no real processes.
import { totalmem } from 'node:os'
import { waitingReason, type Limits } from '../../src/core/admission.js'
import { createState, type CoreConfig } from '../../src/core/state.js'
import type { Task, TaskEvent, TaskSpec } from '../../src/core/types.js'
import { resolveTask, taskInputSchema } from '../../src/config/task-input.js'
import { Dispatcher } from '../../src/runtime/dispatcher.js'
import type { Clock, ExitStatus, GroupUsage, SpawnResult, Spawner, SystemProbe, UsageProbe } from '../../src/runtime/ports.js'
import { DEFAULT_SUPERVISOR_TIMING, Supervisor } from '../../src/runtime/supervisor.js'
import { MemoryStore } from './memory-store.js'
import { tempDir } from './temp-dir.js'

/** 2024-01-01T00:00:00.000Z: a whole minute, so cron slots fall on round offsets. */
export const T0 = Date.UTC(2024, 0, 1)
export const MB = 1024 * 1024

export class FakeClock implements Clock {
  constructor(private current = T0) {}
  now(): number {
    return this.current
  }
  advance(ms: number): number {
    this.current += ms
    return this.current
  }
}

export interface FakeRun {
  spec: TaskSpec
  pid: number
  alive: boolean
  onExit: (status: ExitStatus) => void
}

export interface SignalRecord {
  pid: number
  signal: NodeJS.Signals | 0
  /** Whether the group still existed when the signal was sent. */
  delivered: boolean
}

/** Records spawns and signals; a group lives until the test ends it, SIGKILL, or an honoured SIGTERM. */
export class FakeSpawner implements Spawner {
  readonly runs: FakeRun[] = []
  readonly signals: SignalRecord[] = []
  /** When true, SIGTERM is delivered but the group keeps running (a stubborn script). */
  ignoreTerm = false
  /** When set, the next spawn fails with this error (e.g. a missing script) and the field clears. */
  failNext: string | null = null
  /** Called as each run starts, before `exitAtOnce` ends it (to write its output, say). */
  onSpawn: (run: FakeRun) => void = () => undefined
  /** When set, every run ends with this exit code in the very turn it starts, before its start is logged. */
  exitAtOnce: number | null = null
  /** Highest number of groups alive at once. */
  maxAlive = 0
  private nextPid = 5000

  async spawn(spec: TaskSpec, onExit: (status: ExitStatus) => void): Promise<SpawnResult> {
    if (this.failNext !== null) {
      const error = this.failNext
      this.failNext = null
      return { error }
    }
    const run: FakeRun = { spec, pid: this.nextPid++, alive: true, onExit }
    this.runs.push(run)
    this.maxAlive = Math.max(this.maxAlive, this.alive().length)
    this.onSpawn(run)
    if (this.exitAtOnce !== null) this.end(run, this.exitAtOnce, null)
    return { pid: run.pid, pidStart: `start-${run.pid}` }
  }

  signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
    const run = this.runs.find((r) => r.pid === pid)
    const delivered = run?.alive === true
    this.signals.push({ pid, signal, delivered })
    if (run === undefined || !delivered) return false
    if (signal === 'SIGKILL' || (signal === 'SIGTERM' && !this.ignoreTerm)) {
      // A real group dies a moment after the signal, not inside the kill() call.
      setImmediate(() => this.end(run, null, signal))
    }
    return true
  }

  /** End the newest live run of a task (by name) or the run with this pid, as the process would. */
  exit(which: string | number, code: number | null, signal: string | null = null): FakeRun {
    const run = this.liveRun(which)
    if (run === undefined) throw new Error(`no live run for ${String(which)}`)
    this.end(run, code, signal)
    return run
  }

  alive(): FakeRun[] {
    return this.runs.filter((r) => r.alive)
  }

  spawnsOf(name: string): FakeRun[] {
    return this.runs.filter((r) => r.spec.name === name)
  }

  signalsTo(pid: number): (NodeJS.Signals | 0)[] {
    return this.signals.filter((s) => s.pid === pid && s.delivered).map((s) => s.signal)
  }

  private liveRun(which: string | number): FakeRun | undefined {
    return this.alive().filter((r) => r.pid === which || r.spec.name === which).at(-1)
  }

  private end(run: FakeRun, code: number | null, signal: string | null): void {
    if (!run.alive) return
    run.alive = false
    run.onExit({ pid: run.pid, code, signal })
  }
}

export class FakeProbe implements SystemProbe {
  cpuPercent = 10
  freeBytes = 16 * 1024 * MB
  totalBytes = 32 * 1024 * MB
  async sample(): Promise<{ cpuPercent: number; freeBytes: number; totalBytes: number }> {
    return { cpuPercent: this.cpuPercent, freeBytes: this.freeBytes, totalBytes: this.totalBytes }
  }
}

/** Memory per process group, as the test sets it; groups with nothing set are not reported. */
export class FakeMonitor implements UsageProbe {
  readonly memory = new Map<number, number>()
  async measure(pgids: readonly number[]): Promise<Map<number, GroupUsage>> {
    const usage = new Map<number, GroupUsage>()
    for (const pid of pgids) {
      const memory = this.memory.get(pid)
      if (memory !== undefined) usage.set(pid, { memory, cpu: 0 })
    }
    return usage
  }
}

export interface HarnessOptions {
  limits?: Partial<Limits>
  core?: Partial<CoreConfig>
  killTimeoutMs?: number
  now?: number
  /** The store to log to (a double that fails, say); a fresh MemoryStore by default. */
  store?: MemoryStore
}

export type Harness = Awaited<ReturnType<typeof makeSupervisor>>

/** A Supervisor on an in-memory store, fake ports and a real temporary log folder; `close()` removes it. */
export async function makeSupervisor(options: HarnessOptions = {}) {
  const dir = await tempDir('supervisor-runtime-')
  const clock = new FakeClock(options.now ?? T0)
  const spawner = new FakeSpawner()
  const probe = new FakeProbe()
  const monitor = new FakeMonitor()
  const store = options.store ?? new MemoryStore()
  const limits: Limits = { maxConcurrent: 10, maxCpu: 85, minFreeBytes: 256 * MB, defaultNeedBytes: 64 * MB, ...options.limits }
  const killTimeoutMs = options.killTimeoutMs ?? 2000
  const state = createState({ killTimeoutMs, ...options.core })
  const supervisor = new Supervisor(new Dispatcher(state, store), { clock, spawner, probe, monitor }, {
    ...DEFAULT_SUPERVISOR_TIMING, logDir: dir.path, limits, killTimeoutMs,
  })
  const totalMemory = totalmem()
  const task = (name: string): Task => {
    const found = state.tasks.get(name)
    if (found === undefined) throw new Error(`no task ${name}`)
    return found
  }
  /**
   * Let every pending kick, signal, exit and dispatch run: until each ended fake run has its run.exited
   * logged and a few more turns change nothing (fakes answer at once; recording an exit may read a log).
   */
  const settle = async (): Promise<void> => {
    const giveUp = Date.now() + 5000
    for (let calm = 0; calm < 3;) {
      await new Promise((resolve) => setImmediate(resolve))
      await supervisor.dispatcher.serial(async () => undefined)
      const ended = spawner.runs.filter((r) => !r.alive).length
      if (store.events.filter((e) => e.type === 'run.exited').length >= ended) calm += 1
      else if (Date.now() > giveUp) throw new Error(`${ended} runs ended but not all their exits were recorded`)
      else calm = 0
    }
  }
  /** A task from user input (as `ctl add` takes it), resolved at the fake clock's now. */
  const spec = (input: Record<string, unknown>): TaskSpec =>
    resolveTask(taskInputSchema.parse({ script: '/bin/true', ...input }), { now: clock.now(), baseDir: dir.path, totalMemory })
  return {
    clock, spawner, probe, monitor, store, state, supervisor, limits, dir: dir.path, settle,
    task,
    spec,
    /** Add a task from user input at the fake clock's now, and let the tick it kicks run. */
    async add(input: Record<string, unknown>): Promise<TaskSpec> {
      const added = spec(input)
      await supervisor.request({ type: 'add', now: clock.now(), spec: added })
      await settle()
      return added
    },
    /** The task's waitingReason, computed as `viewOf` (tasks.get, tasks.list) computes it. */
    waitingReason: (name: string): string | null =>
      waitingReason(state, task(name), supervisor.resources, limits, supervisor.blocked),
    events: <T extends TaskEvent['type']>(type: T, name?: string): Extract<TaskEvent, { type: T }>[] =>
      store.events.filter((e): e is Extract<TaskEvent, { type: T }> => e.type === type && (name === undefined || e.task === name)),
    /** Advance the fake clock, run one tick, and let what it started finish. */
    async tick(ms = 0): Promise<void> {
      clock.advance(ms)
      await supervisor.pump()
      await settle()
    },
    close: () => dir.remove(),
  }
}
