// The runtime loop: each tick logs what the clock changed, starts what the planner admits, ends what
// overran, and turns every process result back into an action. The only place that touches processes.
import { join } from 'node:path'
import type { Action, Effect, KillCause } from '../core/actions.js'
import { memoryNeed, type Blocked, type Limits, type Resources } from '../core/admission.js'
import type { Decision } from '../core/decide.js'
import { plan } from '../core/planner.js'
import { nextEventAt } from '../core/state.js'
import type { Dispatcher } from './dispatcher.js'
import type { Clock, ExitStatus, Spawner, SystemProbe } from './ports.js'

export interface SupervisorOptions {
  logDir: string
  limits: Limits
  /** Time between SIGTERM and SIGKILL when a run is ended. */
  killTimeoutMs: number
  /** How often the tick samples CPU and memory (the tick itself runs more often). */
  sampleEveryMs: number
}

interface Kill {
  pid: number
  cause: KillCause
  killAt: number
}

export class Supervisor {
  resources: Resources = { cpuPercent: null, freeBytes: null }
  blocked: Blocked | null = null
  private pumping = false
  private pumpAgain = false
  private lastSample = -Infinity
  private sampling = false
  /** Memory promised to runs started since the last sample, which the sample cannot see yet. */
  private reserved = 0
  private readonly kills = new Map<string, Kill>()
  private readonly exits = new Set<Promise<unknown>>()

  constructor(
    readonly dispatcher: Dispatcher,
    private readonly ports: { clock: Clock; spawner: Spawner; probe: SystemProbe },
    readonly options: SupervisorOptions,
  ) {}

  get state() {
    return this.dispatcher.state
  }

  /** A user's or the system's action: log it, carry out its effects, then look for work at once. */
  async request(action: Action): Promise<Decision> {
    const decision = await this.dispatcher.dispatch(action)
    this.execute(decision.effects)
    this.kick()
    return decision
  }

  async sampleNow(): Promise<void> {
    const sample = await this.ports.probe.sample()
    this.resources = { cpuPercent: sample.cpuPercent, freeBytes: sample.freeBytes }
    this.reserved = 0
    this.lastSample = this.ports.clock.now()
  }

  /** Run the tick's work soon, without waiting for the interval. */
  kick(): void {
    setImmediate(() => void this.pump())
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
    const now = this.ports.clock.now()
    this.maybeSample(now)
    const next = nextEventAt(this.state)
    if (next !== null && next <= now) await this.dispatcher.dispatch({ type: 'clock', now })
    this.enforceLimits(now)
    if (this.state.ready.size === 0) {
      this.blocked = null
      return
    }
    const free = this.resources.freeBytes
    const resources = { ...this.resources, freeBytes: free === null ? null : free - this.reserved }
    const planned = plan(this.state, resources, this.options.limits)
    this.blocked = planned.blocked
    for (const effect of planned.effects) if (effect.type === 'spawn') await this.start(effect.task)
  }

  private maybeSample(now: number): void {
    if (this.sampling || now - this.lastSample < this.options.sampleEveryMs) return
    this.sampling = true
    this.sampleNow()
      .catch((error) => process.emitWarning(`resource sample failed: ${String(error)}`))
      .finally(() => (this.sampling = false))
  }

  private start(name: string): Promise<void> {
    return this.dispatcher.serial(async () => {
      const task = this.state.tasks.get(name)
      if (task === undefined || task.state !== 'ready') return
      const logFile = join(this.options.logDir, `${name}.log`)
      const result = await this.ports.spawner.spawn(task.spec, logFile, (status) => this.onExit(name, status))
      const now = this.ports.clock.now()
      if ('error' in result) {
        await this.dispatcher.handle({
          type: 'exited', now, name, pid: null, code: null, signal: null, cause: null, jitter: jitter(), error: result.error,
        })
        return
      }
      this.reserved += memoryNeed(task, this.options.limits)
      await this.dispatcher.handle({ type: 'started', now, name, pid: result.pid })
    })
  }

  private onExit(name: string, status: ExitStatus): void {
    const { pid } = status
    const kill = this.kills.get(name)
    const cause = kill?.pid === pid ? kill.cause : null
    if (kill?.pid === pid) this.kills.delete(name)
    // Whatever the script left behind in its group ends with it.
    this.ports.spawner.signalGroup(pid, 'SIGKILL')
    const done = this.request({
      type: 'exited', now: this.ports.clock.now(), name, pid, code: status.code, signal: status.signal, cause, jitter: jitter(),
    }).catch((error) => process.emitWarning(`recording the exit of ${name} failed: ${String(error)}`))
    this.exits.add(done)
    void done.finally(() => this.exits.delete(done))
  }

  execute(effects: readonly Effect[]): void {
    for (const effect of effects) {
      if (effect.type === 'kill') this.kill(effect.task, effect.pid, effect.cause)
    }
  }

  /** SIGTERM the run's group now; the tick sends SIGKILL if it outlives the kill timeout. */
  kill(name: string, pid: number, cause: KillCause): void {
    if (this.kills.get(name)?.pid === pid) return
    this.kills.set(name, { pid, cause, killAt: this.ports.clock.now() + this.options.killTimeoutMs })
    this.ports.spawner.signalGroup(pid, 'SIGTERM')
  }

  /** Timeouts and overdue kills: checked every tick over the running tasks only. */
  private enforceLimits(now: number): void {
    for (const [name, kill] of this.kills) {
      if (kill.killAt > now) continue
      if (!this.ports.spawner.signalGroup(kill.pid, 'SIGKILL')) this.kills.delete(name)
      else kill.killAt = now + this.options.killTimeoutMs
    }
    for (const task of this.state.running) {
      if (task.pid === null || task.runStartedAt === null || task.spec.timeoutMs === null) continue
      if (now - task.runStartedAt >= task.spec.timeoutMs) this.kill(task.spec.name, task.pid, 'timeout')
    }
  }

  /** End every run (recorded as interrupted, to resume on the next start) and wait for their exits. */
  async stopAll(): Promise<void> {
    for (const task of this.state.running) {
      if (task.pid !== null) this.kill(task.spec.name, task.pid, 'shutdown')
    }
    while (this.state.running.size > 0 || this.kills.size > 0 || this.exits.size > 0) {
      this.enforceLimits(this.ports.clock.now())
      await Promise.race([...this.exits, delay(20)])
    }
    await this.dispatcher.serial(async () => undefined)
  }
}

/** Uniform in [-1, 1]: the retry wait's jitter, drawn here so the core stays pure. */
const jitter = (): number => Math.random() * 2 - 1

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
