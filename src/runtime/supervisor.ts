// The runtime loop: each tick logs what the clock changed, starts what the planner admits, ends what
// overran, and turns every process result back into an action. The only place that touches processes.
import type { Action, Effect, KillCause } from '../core/actions.js'
import { memoryNeed, type Blocked, type Limits, type Resources } from '../core/admission.js'
import type { Decision } from '../core/decide.js'
import { plan } from '../core/planner.js'
import { nextEventAt, type State } from '../core/state.js'
import type { Task } from '../core/types.js'
import { nextCronTime } from '../config/cron.js'
import type { Degraded, Dispatcher } from './dispatcher.js'
import { fingerprint } from './fingerprint.js'
import { DEFAULT_LOG_POLICY, logSize, type LogPolicy } from './log-files.js'
import { runStderr } from './log-reader.js'
import type { LaunchExit, RunInfo } from './launcher-protocol.js'
import type { Clock, ExitStatus, GroupUsage, Spawner, SystemProbe, UsageProbe } from './ports.js'

export interface SupervisorOptions {
  logDir: string
  logPolicy: LogPolicy
  limits: Limits
  /** Time between SIGTERM and SIGKILL when a run is ended. */
  killTimeoutMs: number
  /** How often the tick samples system CPU and memory and rotates logs while there is work. */
  sampleEveryMs: number
  /** How often it samples when nothing is due, running or watched (systeminformation's CPU sample
   * runs a shell pipeline, so an idle daemon takes it rarely). */
  idleSampleEveryMs: number
  /** How often the tick measures running process trees (memory limits, peaks). */
  monitorEveryMs: number
  /** Events the history keeps (older ones are deleted; failure counts stay). */
  historyKeep: number
  /** How often the tick applies that retention. */
  compactEveryMs: number
  /** A start or exit whose write failed is tried again after this, then twice as long each time... */
  writeRetryFirstMs: number
  /** ...up to this. */
  writeRetryMostMs: number
}

export const DEFAULT_SUPERVISOR_TIMING = {
  sampleEveryMs: 1000, idleSampleEveryMs: 15_000, monitorEveryMs: 250, compactEveryMs: 60_000, historyKeep: 1_000_000,
  logPolicy: DEFAULT_LOG_POLICY, writeRetryFirstMs: 100, writeRetryMostMs: 5000,
}

export interface Ports {
  clock: Clock
  spawner: Spawner
  probe: SystemProbe
  monitor: UsageProbe
}

interface Kill {
  pid: number
  cause: KillCause
  killAt: number
}

/** What the monitor last saw of a run, and the most it ever saw. */
export interface RunUsage extends GroupUsage {
  pid: number
  peak: number
}

/** A live sample for dashboards: the machine against the admission limits, and each run's usage. */
export interface Metrics {
  time: string
  cpuPercent: number | null
  freeBytes: number | null
  totalBytes: number | null
  limits: Limits
  running: { task: string; pid: number; cpu: number; memory: number; peak: number }[]
  /** Null, or why writes fail (the dashboard shows it). */
  degraded: Degraded | null
}

/** Starts a slow async job at most every `everyMs`, never two at once. */
class Periodic {
  private last = -Infinity
  private busy = false
  constructor(private readonly what: string) {}

  owed(now: number, everyMs: number): boolean {
    return !this.busy && now - this.last >= everyMs
  }

  maybe(now: number, everyMs: number, job: () => Promise<void>): void {
    if (!this.owed(now, everyMs)) return
    this.busy = true
    this.last = now
    job()
      .catch((error) => process.emitWarning(`${this.what} failed: ${String(error)}`))
      .finally(() => (this.busy = false))
  }
}

export class Supervisor {
  resources: Resources = { cpuPercent: null, freeBytes: null }
  blocked: Blocked | null = null
  readonly usage = new Map<string, RunUsage>()
  totalBytes: number | null = null
  private readonly metricsListeners = new Set<(metrics: Metrics) => void>()
  private pumping = false
  /** Set while the daemon boots: nothing starts yet (see `hold`). */
  private holding = false
  /** Set by `stopAll`: the daemon is going down, so nothing starts any more. */
  private stopping = false
  private pumpAgain = false
  private readonly sampler = new Periodic('resource sample')
  private readonly measurer = new Periodic('process measure')
  private readonly compactor = new Periodic('history compaction')
  /** Memory promised to runs started since the last sample, which the sample cannot see yet. */
  private reserved = 0
  private readonly kills = new Map<string, Kill>()
  /**
   * Starts and exits to log, in the order they were reported: gathered while the dispatcher is busy
   * and logged in one batch, and kept (retried) until their write lands, however long that takes.
   */
  private readonly results: Action[] = []
  private flushing: Promise<void> | null = null
  /**
   * Pids whose exit the launcher reported but which are not logged yet: the kernel may give such a pid
   * to an unrelated process at any moment, so nothing signals them again, whatever the state says.
   */
  private readonly exitedPids = new Set<number>()
  /** After a clock write failed, when to try the next (not every tick: each try may reopen the store). */
  private clockRetryAt = -Infinity
  /** Tasks whose process the launcher is starting: their start is not logged yet. */
  private readonly starting = new Set<string>()
  /** Starts and exits on their way to the log, for `stopAll` to wait on. */
  private readonly inProgress = new Set<Promise<unknown>>()

  constructor(
    readonly dispatcher: Dispatcher,
    private readonly ports: Ports,
    readonly options: SupervisorOptions,
  ) {}

  get state(): State {
    return this.dispatcher.state
  }

  /** The launcher's pid and how runs are contained, for `ctl info`. */
  get runtime(): { launcherPid: number | null; containment: string } {
    const { spawner } = this.ports
    return { launcherPid: spawner.launcherPid ?? null, containment: spawner.containment ?? 'process groups' }
  }

  /**
   * A user's or the system's action: log it, carry out its effects, then look for work at once. The
   * starts and exits reported before it are logged first (it is decided on the state they leave); if
   * they or it cannot be written, it fails with an `internal` error and changes nothing.
   */
  async request(action: Action): Promise<Decision> {
    const decision = await this.logAfterResults(action)
    this.execute(decision.effects)
    this.kick()
    return decision
  }

  private logAfterResults(action: Action): Promise<Decision> {
    return this.dispatcher.serial(async () => {
      await this.drain()
      return this.dispatcher.handle(action)
    })
  }

  /** Null, or since when and why the daemon cannot write its log (starts, exits and requests wait or fail). */
  get degraded(): Degraded | null {
    return this.dispatcher.degraded
  }

  /** Starts and exits reported but not logged yet (waiting for the store, while degraded). */
  get unrecorded(): number {
    return this.results.length
  }

  async sampleNow(): Promise<void> {
    const sample = await this.ports.probe.sample()
    this.resources = { cpuPercent: sample.cpuPercent, freeBytes: sample.freeBytes }
    this.totalBytes = sample.totalBytes
    this.reserved = 0
    if (this.metricsListeners.size > 0) {
      const metrics = this.metrics()
      for (const listener of this.metricsListeners) listener(metrics)
    }
  }

  metrics(): Metrics {
    return {
      time: new Date(this.ports.clock.now()).toISOString(),
      ...this.resources,
      totalBytes: this.totalBytes,
      limits: this.options.limits,
      running: [...this.usage].map(([task, u]) => ({ task, pid: u.pid, cpu: u.cpu, memory: u.memory, peak: u.peak })),
      degraded: this.degraded,
    }
  }

  /** Be told each new sample (about once a second); returns the way to stop. */
  onMetrics(listener: (metrics: Metrics) => void): () => void {
    this.metricsListeners.add(listener)
    return () => this.metricsListeners.delete(listener)
  }

  /** Run the tick's work soon, without waiting for the interval. */
  kick(): void {
    this.onWake()
    setImmediate(() => void this.pump())
  }

  /**
   * The interval's callback: a synchronous look at whether anything could need doing, so that an
   * idle tick (nothing due, nothing running, no sample owed) allocates nothing and costs next to
   * nothing, however many tasks wait.
   */
  tick(slowMs = Infinity): boolean {
    const now = this.ports.clock.now()
    const state = this.state
    const next = nextEventAt(state)
    const idle = state.ready.size === 0 && state.running.size === 0 && this.kills.size === 0 && this.starting.size === 0
    if (!idle || (next !== null && next <= now) || this.sampler.owed(now, this.sampleEvery())) void this.pump()
    // Whether the next tick may come `slowMs` later: nothing runs, nothing falls due before then.
    return idle && this.metricsListeners.size === 0 && (next === null || next > now + slowMs)
  }

  /** Called whenever work arrives (a request, an exit): the interval returns to full speed. */
  onWake: () => void = () => undefined

  private sampleEvery(): number {
    const busy = this.state.ready.size > 0 || this.state.running.size > 0 || this.metricsListeners.size > 0
    return busy ? this.options.sampleEveryMs : this.options.idleSampleEveryMs
  }

  /** One tick. Re-entrant calls fold into one extra pass. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true
      return
    }
    this.pumping = true
    try {
      do {
        this.pumpAgain = false
        await this.pass()
      } while (this.pumpAgain)
    } catch (error) {
      process.emitWarning(`supervisor tick failed: ${String(error)}`)
    } finally {
      this.pumping = false
    }
  }

  private async pass(): Promise<void> {
    if (this.stopping || this.holding) return
    const now = this.ports.clock.now()
    this.sampler.maybe(now, this.sampleEvery(), () => this.sampleNow())
    if (this.state.running.size > 0) this.measurer.maybe(now, this.options.monitorEveryMs, () => this.measure())
    this.compactor.maybe(now, this.options.compactEveryMs, async () => void (await this.dispatcher.compact(this.options.historyKeep)))
    // While starts or exits wait for the store, nothing new is logged or started before them (the
    // retry kicks the tick once they land): a start that cannot be logged is a run nobody accounts for.
    const waiting = this.degraded !== null && this.results.length > 0
    const next = nextEventAt(this.state)
    if (!waiting && next !== null && next <= now && now >= this.clockRetryAt) {
      // A clock write that fails is tried again a second later (`degraded` tells why); the tick goes
      // on, so timeouts and kills are still enforced.
      await this.logAfterResults({ type: 'clock', now }).catch((error: unknown) => {
        if (this.degraded === null) throw error
        this.clockRetryAt = now + CLOCK_RETRY_MS
      })
    }
    this.enforceLimits(now)
    if (waiting) return
    if (this.state.ready.size === 0) {
      this.blocked = null
      return
    }
    await this.startDue()
  }

  /**
   * Plan and ask for every admitted start, on the state as last logged (inside the dispatcher). Each
   * start is logged when the launcher reports it, together with whatever else ended meanwhile; until
   * then the task counts as starting, so it is neither planned twice nor left out of the slot count.
   */
  private startDue(): Promise<void> {
    return this.dispatcher.serial(async () => {
      if (this.stopping || this.holding) return
      const free = this.resources.freeBytes
      const resources = { ...this.resources, freeBytes: free === null ? null : free - this.reserved }
      const planned = plan(this.state, resources, this.options.limits, { starting: this.starting, draining: this.draining() })
      this.blocked = planned.blocked
      for (const effect of planned.effects) {
        const task = this.state.tasks.get(effect.task)
        if (effect.type !== 'spawn' || task === undefined) continue
        this.starting.add(effect.task)
        this.track(this.spawn(task).then((action) => this.record(action)))
      }
    })
  }

  /** Start one run; its start (or its failure to start) as an action to log. */
  private async spawn(task: Task): Promise<Action> {
    const name = task.spec.name
    const errStart = logSize(this.options.logDir, name, 'err')
    const result = await this.ports.spawner.spawn(task.spec, (status) => this.onExit(name, status, errStart))
    const now = this.ports.clock.now()
    if ('error' in result) {
      return {
        type: 'exited', now, name, pid: null, code: null, signal: null, cause: null, jitter: jitter(), error: result.error,
        ...this.nextSlot(task, now),
      }
    }
    this.reserved += memoryNeed(task, this.options.limits)
    return { type: 'started', now, name, pid: result.pid, pidStart: result.pidStart }
  }

  /** `errStart`: where the task's stderr log stood when this run began, so only its own lines are read. */
  private onExit(name: string, status: ExitStatus, errStart: number): void {
    const { pid } = status
    this.exitedPids.add(pid)
    const kill = this.kills.get(name)
    const cause = kill?.pid === pid ? kill.cause : status.interrupted === true ? 'shutdown' : status.oom === true ? 'memory' : null
    if (kill?.pid === pid) this.kills.delete(name)
    const usage = this.usage.get(name)
    if (usage?.pid === pid) this.usage.delete(name)
    // Whatever the script left behind in its group ends with it.
    this.ports.spawner.signalGroup(pid, 'SIGKILL')
    const now = this.ports.clock.now()
    const task = this.state.tasks.get(name)
    const failed = status.code !== 0 || cause !== null
    const done = (failed ? runStderr(this.options.logDir, name, errStart).catch(() => '') : Promise.resolve(''))
      .then((stderr) => {
        return this.record({
          type: 'exited', now, name, pid, code: status.code, signal: status.signal, cause, jitter: jitter(),
          ...(status.endedAt === undefined ? {} : { endedAt: status.endedAt }),
          ...peakOf(usage?.pid === pid ? usage.peak : undefined, status.peak),
          ...(task === undefined ? {} : this.nextSlot(task, now)),
          ...(failed ? { stderr, fingerprint: fingerprint(stderr) } : {}),
        })
      })
      // Committed: the launcher may forget the exit (it told it from its journal until now).
      .then(() => (status.interrupted === true ? undefined : this.ports.spawner.acknowledge?.(pid, status.pidStart ?? null)))
    this.track(done)
  }

  /**
   * Boot: nothing starts until `release`, so that a task whose run a launcher kept (its start not yet
   * recorded) is not started a second time while the boot records it.
   */
  hold(): void {
    this.holding = true
  }

  release(): void {
    this.holding = false
    this.kick()
  }

  /** Watch again a run a launcher kept while no daemon was there (its start is recorded). */
  adopt(run: RunInfo): void {
    const errStart = logSize(this.options.logDir, run.task, 'err')
    this.ports.spawner.adopt?.(run, (status) => this.onExit(run.task, status, errStart))
  }

  /**
   * A kept run whose start was never recorded (the daemon died first): recorded now, then watched
   * (`watch`: false for one that has ended already, whose exit is recorded next).
   */
  adoptUnrecorded(run: RunInfo, watch = true): Promise<void> {
    if (watch) this.adopt(run)
    const started = this.record({ type: 'started', now: run.startedAt, name: run.task, pid: run.pid, pidStart: run.pidStart })
    this.track(started)
    return started
  }

  /** A run that ended while no daemon was there: its real status, recorded as if it had just been told. */
  exitedMeanwhile(exit: LaunchExit): void {
    this.onExit(exit.task, exit, 0)
  }

  /** Keep count of work in progress (a start or an exit not logged yet), for `stopAll` to wait on. */
  private track(work: Promise<unknown>): void {
    const done = work.catch((error) => process.emitWarning(`recording a run failed: ${String(error)}`))
    this.inProgress.add(done)
    void done.finally(() => this.inProgress.delete(done))
  }

  /**
   * Starts and exits that arrive together are logged together, once the current turn is over. A
   * failed write leaves them queued and is tried again after 100 ms, then twice as long each time up
   * to 5 s (the options say), until it lands: nothing is dropped, and the promise settles only then.
   */
  private record(action: Action): Promise<void> {
    this.results.push(action)
    this.flushing ??= this.flushUntilLogged()
    return this.flushing
  }

  private async flushUntilLogged(): Promise<void> {
    let wait = this.options.writeRetryFirstMs
    await new Promise((resolve) => setImmediate(resolve))
    // No await between the last look at `results` and clearing `flushing`: a result recorded later
    // starts a new flush.
    while (this.results.length > 0) {
      try {
        await this.dispatcher.serial(() => this.drain())
      } catch {
        await delay(wait)
        wait = Math.min(wait * 2, this.options.writeRetryMostMs)
      }
    }
    this.flushing = null
    this.kick()
  }

  /**
   * Log every queued start and exit, oldest first (a run's start before its exit, whatever order they
   * were reported in). Each round that is written leaves the queue; a failed write throws with the
   * rest still queued and nothing of them applied. Only call from inside `serial`.
   */
  private async drain(): Promise<void> {
    if (this.results.length === 0) return
    // What is queued now, starts first; what arrives while it is written waits for the next round.
    const batch = [...this.results.filter((a) => a.type === 'started'), ...this.results.filter((a) => a.type !== 'started')]
    const taken = new Set(batch)
    // Starts of runs nobody wants any more: their task was stopped or removed while the launcher
    // started them. Logged like any start (the run exists), then ended at once.
    const unwanted = batch.filter((a) => {
      const state = a.type === 'started' ? this.state.tasks.get(a.name)?.state : 'other'
      return state === undefined || state === 'stopped'
    })
    try {
      await this.dispatcher.handleAll(batch)
    } finally {
      const left = new Set(batch)
      const logged = [...taken].filter((action) => !left.has(action))
      const done = new Set(logged)
      const kept = this.results.filter((action) => !done.has(action))
      this.results.splice(0, this.results.length, ...kept)
      for (const action of logged) {
        // Logged: the state now says what became of them.
        if (action.type === 'started' || action.type === 'exited') this.starting.delete(action.name)
        if (action.type === 'exited' && action.pid !== null) this.exitedPids.delete(action.pid)
      }
      for (const action of unwanted) {
        if (!done.has(action) || action.type !== 'started') continue
        this.kill(action.name, action.pid, this.state.tasks.has(action.name) ? 'stop' : 'remove')
      }
    }
  }

  /** A cron task's next slot after `now`, for the core to schedule it (the core computes no calendars). */
  private nextSlot(task: Task, now: number): { nextAt?: number } {
    if (task.spec.cron === null) return {}
    const next = nextCronTime(task.spec.cron, task.spec.cronTz, now + 1)
    return next === null ? {} : { nextAt: next }
  }

  /** Measure every running process tree; a run over its `memory` is ended (outcome killed). */
  private async measure(): Promise<void> {
    const runs = [...this.state.running].filter((t): t is Task & { pid: number } => t.pid !== null)
    const measured = await this.ports.monitor.measure(runs.map((t) => t.pid))
    for (const task of runs) {
      const sample = measured.get(task.pid)
      if (sample === undefined) continue
      const previous = this.usage.get(task.spec.name)
      const peak = Math.max(sample.memory, previous?.pid === task.pid ? previous.peak : 0)
      this.usage.set(task.spec.name, { ...sample, pid: task.pid, peak })
      // Where the kernel holds the run to its limit (a cgroup), it ends it itself; else the poll does.
      const limit = this.ports.spawner.kernelMemoryLimit === true ? null : task.spec.memoryBytes
      if (limit !== null && sample.memory > limit && task.pid !== null) this.kill(task.spec.name, task.pid, 'memory')
    }
  }

  /** Runs being killed whose task is gone: they still hold a slot until they exit. */
  private draining(): number {
    let count = 0
    for (const [name, kill] of this.kills) if (this.state.tasks.get(name)?.pid !== kill.pid) count += 1
    return count
  }

  execute(effects: readonly Effect[]): void {
    for (const effect of effects) {
      if (effect.type === 'kill') this.kill(effect.task, effect.pid, effect.cause)
    }
  }

  /** SIGTERM the run's group now; the tick sends SIGKILL if it outlives the kill timeout. */
  kill(name: string, pid: number, cause: KillCause): void {
    if (this.kills.get(name)?.pid === pid || this.exitedPids.has(pid)) return
    this.kills.set(name, { pid, cause, killAt: this.ports.clock.now() + this.options.killTimeoutMs })
    this.ports.spawner.signalGroup(pid, 'SIGTERM')
  }

  /** Timeouts and overdue kills: checked every tick over the running tasks only. */
  private enforceLimits(now: number): void {
    for (const [name, kill] of this.kills) {
      if (this.exitedPids.has(kill.pid)) {
        this.kills.delete(name)
        continue
      }
      if (kill.killAt > now) continue
      if (!this.ports.spawner.signalGroup(kill.pid, 'SIGKILL')) this.kills.delete(name)
      else kill.killAt = now + this.options.killTimeoutMs
    }
    for (const task of this.state.running) {
      if (task.pid === null || task.runStartedAt === null || task.spec.timeoutMs === null) continue
      if (now - task.runStartedAt >= task.spec.timeoutMs) this.kill(task.spec.name, task.pid, 'timeout')
    }
  }

  /**
   * A run whose processes are all gone but whose exit never came (its watcher was lost) would hold
   * the stop forever: after the kill timeout it is recorded as interrupted without an exit status.
   */
  private giveUpOnVanished(gone: Map<number, number>, now: number): void {
    const alive = this.ports.spawner.groupAlive?.bind(this.ports.spawner)
    if (alive === undefined) return
    for (const task of this.state.running) {
      // An exit already reported is on its way to the log: it is not lost, and not to be recorded twice.
      if (task.pid === null || this.exitedPids.has(task.pid) || alive(task.pid)) continue
      const since = gone.get(task.pid) ?? now
      gone.set(task.pid, since)
      if (now - since < this.options.killTimeoutMs) continue
      this.kills.delete(task.spec.name)
      gone.set(task.pid, Infinity) // recorded once
      this.exitedPids.add(task.pid) // gone: the kernel may hand the pid out again
      this.track(this.record({
        type: 'exited', now, name: task.spec.name, pid: task.pid, code: null, signal: null, cause: 'shutdown', jitter: 0,
      }))
    }
  }

  /** Start nothing more and wait until every start and exit reported so far is logged; leave runs running. */
  async leaveRunning(): Promise<void> {
    this.stopping = true
    while (this.inProgress.size > 0 || this.starting.size > 0) await Promise.race([...this.inProgress, delay(20)])
    await this.dispatcher.serial(async () => undefined)
  }

  /** End every run (recorded as interrupted, to resume on the next start) and wait for their exits. */
  async stopAll(): Promise<void> {
    this.stopping = true
    const gone = new Map<number, number>()
    while (this.state.running.size > 0 || this.kills.size > 0 || this.inProgress.size > 0 || this.starting.size > 0) {
      const now = this.ports.clock.now()
      // Runs whose start was being logged when the stop began are ended as soon as they show.
      for (const task of this.state.running) if (task.pid !== null) this.kill(task.spec.name, task.pid, 'shutdown')
      this.enforceLimits(now)
      this.giveUpOnVanished(gone, now)
      await Promise.race([...this.inProgress, delay(20)])
    }
    await this.dispatcher.serial(async () => undefined)
  }
}

/**
 * A run's peak memory: what its cgroup counted where it has one (what a kernel limit applies to: its
 * processes' own pages, without the shared ones RSS also counts), else the most the monitor saw.
 */
function peakOf(polled: number | undefined, counted: number | undefined): { peakMemory?: number } {
  const peak = counted ?? polled
  return peak === undefined ? {} : { peakMemory: peak }
}

const CLOCK_RETRY_MS = 1000

/** Uniform in [-1, 1]: the retry wait's jitter, drawn here so the core stays pure. */
const jitter = (): number => Math.random() * 2 - 1

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
