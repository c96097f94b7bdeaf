// The runtime loop: each tick logs what the clock changed (the core decides what falls due and which
// runs end: timeouts, SIGKILLs owed), starts what the planner admits, and turns every process result
// and measurement back into an action. It carries out decisions; it makes none about a run's life.
import type { Action, Effect, KillCause } from '../core/actions.js'
import { memoryNeed, type Blocked, type Limits, type Resources } from '../core/admission.js'
import type { Decision } from '../core/decide.js'
import { plan } from '../core/planner.js'
import { isMine, launching, myBusy, myRuns, nextEventAt, type State } from '../core/state.js'
import { plainSpec } from '../core/compact.js'
import type { Task, TaskEvent, TaskSpec } from '../core/types.js'
import { unloggedDecision, type Degraded, type Dispatcher } from './dispatcher.js'
import { fingerprint } from './fingerprint.js'
import { DEFAULT_LOG_POLICY, logSize, type LogPolicy } from './log-files.js'
import { runStderr } from './log-reader.js'
import type { LaunchExit, RunInfo } from './launcher-protocol.js'
import { Periodic } from './periodic.js'
import { RunResults } from './run-results.js'
import type { Clock, ExitStatus, Spawner, SystemProbe, UsageProbe } from './ports.js'
import { ResourceWatch, type Metrics, type RunUsage } from './resources.js'
import { Signals } from './signals.js'

export interface SupervisorOptions {
  logDir: string
  logPolicy: LogPolicy
  limits: Limits
  /** Time between SIGTERM and SIGKILL when a run is ended (the core's own setting; used here when the log cannot be written). */
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
  /** How often the tick asks the core which deadline tasks the forecast expects to be late. */
  assessEveryMs: number
  /** The forecast's guess for a run of unknown duration (the daemon's `defaultExpect`). */
  unknownDurationMs: number
  /** A start or exit whose write failed is tried again after this, then twice as long each time... */
  writeRetryFirstMs: number
  /** ...up to this. */
  writeRetryMostMs: number
}

export const DEFAULT_SUPERVISOR_TIMING = {
  sampleEveryMs: 1000, idleSampleEveryMs: 15_000, monitorEveryMs: 250, compactEveryMs: 60_000, historyKeep: 1_000_000,
  logPolicy: DEFAULT_LOG_POLICY, writeRetryFirstMs: 100, writeRetryMostMs: 5000, assessEveryMs: 5000, unknownDurationMs: 60_000,
}

export interface Ports {
  clock: Clock
  spawner: Spawner
  probe: SystemProbe
  monitor: UsageProbe
}

export class Supervisor {
  blocked: Blocked | null = null
  /** Told what holds the queue back after each planning round (metrics). */
  onPlanned: ((blocked: Blocked | null) => void) | null = null
  /** The machine and the runs' process trees, as last sampled. */
  readonly watch: ResourceWatch
  private pumping = false
  /** Set while the daemon boots: nothing starts yet (see `hold`). */
  private holding = false
  /** Set by `stopAll`: the daemon is going down, so nothing starts any more. */
  private stopping = false
  private pumpAgain = false
  private readonly sampler = new Periodic('resource sample')
  private readonly measurer = new Periodic('process measure')
  private readonly compactor = new Periodic('history compaction')
  private readonly assessor = new Periodic('deadline assessment')
  /** Carries out the core's signal effects, never to a pid reported exited. */
  private readonly signals: Signals
  /** Starts and exits on their way to the log, kept until their write lands. */
  private readonly results: RunResults
  /** After a clock write failed, when to try the next (not every tick: each try may reopen the store). */
  private clockRetryAt = -Infinity
  /**
   * The runs this daemon's launcher holds, pid to task name, from their start until their exit is
   * reported. In a cluster, the only runs it signals: a pid in the log may be another node's.
   */
  private readonly local = new Map<number, string>()
  /** Reads the shared log on now and then, should a notification of another node's commit be lost. */
  private readonly follower = new Periodic('log follow')

  constructor(
    readonly dispatcher: Dispatcher,
    private readonly ports: Ports,
    readonly options: SupervisorOptions,
  ) {
    this.signals = new Signals(ports.spawner)
    this.watch = new ResourceWatch(ports.probe, ports.monitor, () => ({
      time: new Date(ports.clock.now()).toISOString(), limits: options.limits, degraded: this.degraded,
    }))
    // Every decision's effects, whichever way it reached the log, end here. In a cluster only this
    // node's runs are signalled here; the node a run is on carries out what others decide (followed).
    dispatcher.executor = (effects) => this.signals.execute(dispatcher.shared ? effects.filter((e) => e.type !== 'signal' || this.local.get(e.pid) === e.task) : effects)
    dispatcher.subscribe((events) => this.signals.onLogged(events))
    dispatcher.onFollowed = (events) => this.followed(events)
    this.results = new RunResults(dispatcher, options, (action) => {
      // Logged: the state no longer names the pid.
      if (action.type === 'exited' && action.pid !== null) this.signals.exitLogged(action.pid)
    }, () => this.kick())
  }

  get state(): State {
    return this.dispatcher.state
  }

  /**
   * Events other nodes wrote: a signal they decided for a run on this node is sent; a run of this
   * node that they recorded as ended (this node was lost, the run moved) is fenced: ended at once, and
   * its exit, when it comes, is not recorded (the core drops it: the run is not this node's by the log).
   */
  private followed(events: readonly TaskEvent[]): void {
    for (const event of events) {
      if (event.type === 'run.stopping' && event.signal !== null && this.local.get(event.pid) === event.task) {
        this.signals.execute([{ type: 'signal', task: event.task, pid: event.pid, signal: event.signal }])
      } else if (event.type === 'run.exited' && event.pid !== null && this.local.get(event.pid) === event.task) {
        process.emitWarning(`run ${event.pid} of "${event.task}" was moved off this node (${event.cause ?? 'recorded as ended by another node'}): ending it`)
        this.signals.execute([{ type: 'signal', task: event.task, pid: event.pid, signal: 'SIGKILL' }])
      }
    }
    if (events.length > 0) this.kick()
  }

  /** This node's runs (in a cluster, those on its node). */
  private mine(): Set<Task> {
    return this.dispatcher.shared ? new Set(myRuns(this.state)) : this.state.running
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
    this.kick()
    return decision
  }

  private logAfterResults(action: Action): Promise<Decision> {
    return this.dispatcher.serial(async () => {
      await this.results.drain()
      return this.dispatcher.handle(action)
    })
  }

  /** Null, or since when and why the daemon cannot write its log (starts, exits and requests wait or fail). */
  get degraded(): Degraded | null {
    return this.dispatcher.degraded
  }

  /** Starts and exits reported but not logged yet (waiting for the store, while degraded). */
  get unrecorded(): number {
    return this.results.size
  }

  get resources(): Resources {
    return this.watch.resources
  }

  get usage(): ReadonlyMap<string, RunUsage> {
    return this.watch.usage
  }

  sampleNow(): Promise<void> {
    return this.watch.sampleNow()
  }

  metrics(): Metrics {
    return this.watch.metrics()
  }

  onMetrics(listener: (metrics: Metrics) => void): () => void {
    return this.watch.onMetrics(listener)
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
    const idle = state.ready.size === 0 && state.running.size === 0 && state.orphans.size === 0 && state.starting.size === 0
    if (!idle || (next !== null && next <= now) || this.sampler.owed(now, this.sampleEvery())) void this.pump()
    // Whether the next tick may come `slowMs` later: nothing runs, nothing falls due before then.
    return idle && !this.watch.watched && (next === null || next > now + slowMs)
  }

  /** Called whenever work arrives (a request, an exit): the interval returns to full speed. */
  onWake: () => void = () => undefined

  private sampleEvery(): number {
    const busy = this.state.ready.size > 0 || this.state.running.size > 0 || this.watch.watched
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
    if (this.dispatcher.shared) this.follower.maybe(now, FOLLOW_EVERY_MS, async () => void (await this.dispatcher.follow()))
    if (this.state.running.size > 0) this.measurer.maybe(now, this.options.monitorEveryMs, () => this.measure())
    this.compactor.maybe(now, this.options.compactEveryMs, async () => void (await this.dispatcher.compact(this.options.historyKeep)))
    this.assessor.maybe(now, this.options.assessEveryMs, () => this.assess(now))
    // While starts or exits wait for the store, nothing new is logged or started before them (the
    // retry kicks the tick once they land): a start that cannot be logged is a run nobody accounts for.
    const waiting = this.degraded !== null && this.results.size > 0
    const next = nextEventAt(this.state)
    if (!waiting && next !== null && next <= now && now >= this.clockRetryAt) {
      // A clock write that fails is tried again a second later (`degraded` tells why). What it decided
      // waits for the log, but for its kills: a run past its timeout is ended all the same.
      await this.logAfterResults({ type: 'clock', now }).catch((error: unknown) => {
        if (this.degraded === null) throw error
        this.clockRetryAt = now + CLOCK_RETRY_MS
        this.killUnlogged(error, now)
      })
    }
    this.signals.escalate(now, this.options.killTimeoutMs)
    if (waiting) return
    if (this.state.ready.size === 0) {
      this.blocked = null
      this.onPlanned?.(null)
      return
    }
    await this.startDue()
  }

  /**
   * Plan and ask for every admitted start, on the state as last logged (inside the dispatcher). Each
   * start is logged when the launcher reports it, together with whatever else ended meanwhile; until
   * then the task counts as starting, so it is neither planned twice nor left out of the slot count.
   * In a cluster the starts are claimed in the shared log first, and only claims that committed start.
   */
  private startDue(): Promise<void> {
    return this.dispatcher.serial(async () => {
      if (this.stopping || this.holding) return
      const planned = plan(this.state, this.watch.forAdmission(), this.options.limits)
      this.blocked = planned.blocked
      this.onPlanned?.(planned.blocked)
      if (planned.effects.length === 0) return
      const shared = this.dispatcher.shared
      for (const effect of shared ? await this.claim() : planned.effects) {
        if (effect.type === 'preempt') {
          await this.preempt(effect.task, effect.for)
          continue
        }
        const task = this.state.tasks.get(effect.task)
        if (effect.type !== 'spawn' || task === undefined) continue
        if (!shared) launching(this.state, task)
        else if (this.state.starting.get(effect.task) !== task || !isMine(this.state, task)) continue
        this.results.track(this.spawn(task).then((action) => this.results.record(action)))
      }
    })
  }

  /**
   * A cluster node's claim of what it may start: the core plans again on the log as committed (a node
   * that decided on an older log decides again). If the claim cannot be written, nothing starts; the
   * next tick tries again. Only call from inside `serial`.
   */
  private async claim(): Promise<readonly Effect[]> {
    try {
      const { limits } = this.options
      return (await this.dispatcher.handle({ type: 'claim', now: this.ports.clock.now(), resources: this.watch.forAdmission(), limits })).effects
    } catch (error) {
      if (this.degraded === null) process.emitWarning(`claiming due tasks failed: ${(error as Error).message}`)
      return []
    }
  }

  /**
   * Stop `victim`'s run to make room for `urgent` (the core decides and logs it; its signal follows).
   * If it cannot be written, nothing is stopped: the next tick asks again. Only call from inside `serial`.
   */
  private async preempt(victim: string, urgent: string): Promise<void> {
    try {
      await this.dispatcher.handle({ type: 'preempt', now: this.ports.clock.now(), name: victim, for: urgent })
    } catch (error) {
      process.emitWarning(`preempting ${victim} for ${urgent} failed: ${(error as Error).message}`)
    }
  }

  /** Start one run; its start (or its failure to start) as an action to log. */
  private async spawn(task: Task): Promise<Action> {
    const name = task.spec.name
    const errStart = logSize(this.options.logDir, name, 'err')
    const result = await this.ports.spawner.spawn(withTrigger(task), (status) => this.onExit(name, status, errStart))
    const now = this.ports.clock.now()
    if ('error' in result) {
      return {
        type: 'exited', now, name, pid: null, code: null, signal: null, cause: null, jitter: jitter(), error: result.error,
      }
    }
    this.watch.promise(memoryNeed(task, this.options.limits))
    if (!this.signals.hasExited(result.pid)) this.local.set(result.pid, name)
    return { type: 'started', now, name, pid: result.pid, pidStart: result.pidStart }
  }

  /** `errStart`: where the task's stderr log stood when this run began, so only its own lines are read. */
  private onExit(name: string, status: ExitStatus, errStart: number): void {
    const { pid } = status
    this.signals.exitReported(pid)
    this.local.delete(pid)
    // What only the runtime saw; a kill the supervisor decided, the core knows the cause of.
    const cause: KillCause | null = status.interrupted === true ? 'shutdown' : this.signals.unloggedCause(pid) ?? (status.oom === true ? 'memory' : null)
    const usage = this.watch.ended(name, pid)
    // Whatever the script left behind in its group ends with it.
    this.ports.spawner.signalGroup(pid, 'SIGKILL')
    const now = this.ports.clock.now()
    const task = this.state.tasks.get(name)
    const failed = status.code !== 0 || cause !== null || status.signal !== null
    const done = (failed ? runStderr(this.options.logDir, name, errStart).catch(() => '') : Promise.resolve(''))
      .then((stderr) => {
        return this.results.record({
          type: 'exited', now, name, pid, code: status.code, signal: status.signal, cause, jitter: jitter(),
          ...(status.endedAt === undefined ? {} : { endedAt: status.endedAt }),
          ...peakOf(usage?.peak, status.peak),
          ...(failed ? { stderr, fingerprint: fingerprint(stderr) } : {}),
        })
      })
      // Committed: the launcher may forget the exit (it told it from its journal until now).
      .then(() => (status.interrupted === true ? undefined : this.ports.spawner.acknowledge?.(pid, status.pidStart ?? null)))
    this.results.track(done)
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
    this.local.set(run.pid, run.task)
    const errStart = logSize(this.options.logDir, run.task, 'err')
    this.ports.spawner.adopt?.(run, (status) => this.onExit(run.task, status, errStart))
  }

  /**
   * A kept run whose start was never recorded (the daemon died first): recorded now, then watched
   * (`watch`: false for one that has ended already, whose exit is recorded next).
   */
  adoptUnrecorded(run: RunInfo, watch = true): Promise<void> {
    if (watch) this.adopt(run)
    const started = this.results.record({ type: 'started', now: run.startedAt, name: run.task, pid: run.pid, pidStart: run.pidStart })
    this.results.track(started)
    return started
  }

  /** A run that ended while no daemon was there: its real status, recorded as if it had just been told. */
  exitedMeanwhile(exit: LaunchExit): void {
    this.onExit(exit.task, exit, 0)
  }

  /**
   * Measure every running process tree (peaks, dashboards). Where the kernel does not hold runs to
   * their memory limits (no cgroups), the samples of limited runs go to the core, which ends a run over.
   */
  private async measure(): Promise<void> {
    const limited = await this.watch.measure(this.mine())
    if (limited.length === 0 || this.ports.spawner.kernelMemoryLimit === true || this.stopping) return
    const now = this.ports.clock.now()
    await this.request({ type: 'sampled', now, samples: limited }).catch((error: unknown) => {
      if (this.degraded === null) throw error
      this.killUnlogged(error, now)
    })
  }

  /** Which deadline tasks the forecast now expects to be late (the core decides; `task.at-risk`). */
  private async assess(now: number): Promise<void> {
    const { limits } = this.options
    await this.request({ type: 'assess', now, slots: limits.maxConcurrent, unknownMs: this.options.unknownDurationMs, limits }).catch((error: unknown) => {
      if (this.degraded === null) throw error
    })
  }

  /** The kills of a decision the log refused are carried out anyway (signals.ts keeps their causes). */
  private killUnlogged(error: unknown, now: number): void {
    const decision = unloggedDecision(error)
    if (decision !== null) this.signals.executeUnlogged(decision, now)
  }

  /**
   * A run whose processes are all gone but whose exit never came (its watcher was lost) would hold
   * the stop forever: after the kill timeout it is recorded as interrupted without an exit status.
   */
  private giveUpOnVanished(gone: Map<number, number>, now: number): void {
    const alive = this.ports.spawner.groupAlive?.bind(this.ports.spawner)
    if (alive === undefined) return
    for (const task of this.mine()) {
      // An exit already reported is on its way to the log: it is not lost, and not to be recorded twice.
      if (task.pid === null || this.signals.hasExited(task.pid) || alive(task.pid)) continue
      const since = gone.get(task.pid) ?? now
      gone.set(task.pid, since)
      if (now - since < this.options.killTimeoutMs) continue
      gone.set(task.pid, Infinity) // recorded once
      this.signals.exitReported(task.pid) // gone: the kernel may hand the pid out again
      this.results.track(this.results.record({
        type: 'exited', now, name: task.spec.name, pid: task.pid, code: null, signal: null, cause: 'shutdown', jitter: 0,
      }))
    }
  }

  /** Start nothing more and wait until every start and exit reported so far is logged; leave runs running. */
  async leaveRunning(): Promise<void> {
    this.stopping = true
    while (this.results.busy || [...this.state.starting.values()].some((t) => isMine(this.state, t))) await this.results.settledOrAfter(20)
    await this.dispatcher.serial(async () => undefined)
  }

  /**
   * End every run (recorded as interrupted, to resume on the next start) and wait for their exits. The
   * core decides it (`shutdown`) and the SIGKILLs that follow (`clock`); should the log refuse those
   * writes, the runs are ended all the same (an operator's stop means stop).
   */
  async stopAll(): Promise<void> {
    this.stopping = true
    const gone = new Map<number, number>()
    while (myBusy(this.state) > 0 || this.results.busy) {
      const now = this.ports.clock.now()
      // While the log refuses writes, asked again once a second, not on every turn.
      if (now >= this.clockRetryAt) {
        try {
          // Runs whose start was logged after the shutdown was decided are ended as soon as they show.
          if ([...this.mine()].some((t) => t.pid !== null && t.stopping === null)) await this.request({ type: 'shutdown', now })
          const next = nextEventAt(this.state)
          if (next !== null && next <= now) await this.request({ type: 'clock', now })
        } catch (error) {
          this.clockRetryAt = now + CLOCK_RETRY_MS
          this.killUnlogged(error, now)
        }
      }
      this.signals.escalate(now, this.options.killTimeoutMs)
      this.giveUpOnVanished(gone, now)
      await this.results.settledOrAfter(20)
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

/** How often a cluster node reads the shared log's head, besides being told of commits. */
const FOLLOW_EVERY_MS = 1000

/** Uniform in [-1, 1]: the retry wait's jitter, drawn here so the core stays pure. */
const jitter = (): number => Math.random() * 2 - 1

/** The definition a run starts with: a triggered run also sees what triggered it, in its environment. */
function withTrigger(task: Task): TaskSpec {
  const { trigger } = task
  if (trigger === null) return task.spec
  return {
    ...plainSpec(task.spec),
    env: {
      ...task.spec.env,
      SUPERVISOR_TRIGGER_TASK: trigger.task,
      SUPERVISOR_TRIGGER_OUTCOME: trigger.outcome,
      SUPERVISOR_TRIGGER_EXIT_CODE: trigger.exitCode === null ? '' : String(trigger.exitCode),
      SUPERVISOR_TRIGGER_SEQ: String(trigger.seq ?? ''),
    },
  }
}
