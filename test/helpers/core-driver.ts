// Drives the pure core with a fake clock: decide -> stamp (seq, ISO time) -> reduce, as the dispatcher does.
import type { Action, Effect, KillCause } from '../../src/core/actions.js'
import type { Limits, Resources } from '../../src/core/admission.js'
import { decide } from '../../src/core/decide.js'
import { plan, type Plan } from '../../src/core/planner.js'
import { reduce } from '../../src/core/reducer.js'
import { createState, nextEventAt, type CoreConfig, type State } from '../../src/core/state.js'
import type { NewEvent, Task, TaskEvent, TaskSpec } from '../../src/core/types.js'

/** A fixed epoch so ISO times are readable in failures: 2024-01-01T00:00:00.000Z. */
export const T0 = Date.UTC(2024, 0, 1)

export const NO_LIMITS: Limits = { maxConcurrent: 1000, maxCpu: 100, minFreeBytes: 0, defaultNeedBytes: 0 }
export const UNKNOWN_RESOURCES: Resources = { cpuPercent: null, freeBytes: null }

/** A resolved task definition with plain defaults; the digest follows the fields unless given. */
export function spec(name: string, fields: Partial<TaskSpec> = {}): TaskSpec {
  const base: Omit<TaskSpec, 'digest'> = {
    name, script: `${name}.js`, args: [], at: T0, deadline: null, onDeadline: 'run', missed: 'once', overlap: 'skip', preemptible: false, manual: false, after: [], nodes: [], onSuccess: [], onFailure: null, priority: 'medium', front: false,
    retries: 0, restart: 'on-failure', cron: null, cronTz: null, backoff: null, timeoutMs: null, expectMs: null, memoryBytes: null, cwd: null, env: {}, envFile: null, user: null,
    ...fields,
  }
  return { ...base, digest: fields.digest ?? JSON.stringify(base) }
}

export interface Step {
  events: TaskEvent[]
  effects: Effect[]
}

export interface ExitOptions {
  code?: number | null
  signal?: string | null
  cause?: KillCause | null
  jitter?: number
  peakMemory?: number
}

export class CoreDriver {
  readonly state: State
  readonly log: TaskEvent[] = []
  /** The effects of the preemptions `startDue` decided. */
  readonly effects: Effect[] = []
  now: number
  private nextPid = 1000

  constructor(options: { now?: number; config?: Partial<CoreConfig> } = {}) {
    this.state = createState(options.config ?? {})
    this.now = options.now ?? T0
  }

  /** Decide, stamp with the next seqs and the action's time, reduce; the logged events and the effects. */
  dispatch(action: Action): Step {
    const decision = decide(this.state, action)
    const events = stamp(decision.events, this.state.seq, action.now)
    for (const event of events) reduce(this.state, event)
    this.log.push(...events)
    return { events, effects: decision.effects }
  }

  task(name: string): Task {
    const task = this.state.tasks.get(name)
    if (task === undefined) throw new Error(`no task ${name}`)
    return task
  }

  add(name: string, fields: Partial<TaskSpec> = {}): Step {
    return this.dispatch({ type: 'add', now: this.now, spec: spec(name, fields) })
  }

  /** Move the fake clock to `to` (epoch ms) and deliver one clock action there. */
  clockAt(to: number): Step {
    this.now = to
    return this.dispatch({ type: 'clock', now: to })
  }

  advance(ms: number): Step {
    return this.clockAt(this.now + ms)
  }

  nextEventAt(): number | null {
    return nextEventAt(this.state)
  }

  plan(resources: Resources = UNKNOWN_RESOURCES, limits: Limits = NO_LIMITS): Plan {
    return plan(this.state, resources, limits)
  }

  /**
   * Plan, then report each spawn as started with a fresh pid, in order; the names started. A
   * preemption planned is decided as the supervisor does (`preempt`); its effects land in `effects`.
   */
  startDue(resources: Resources = UNKNOWN_RESOURCES, limits: Limits = NO_LIMITS): string[] {
    const started: string[] = []
    for (const effect of this.plan(resources, limits).effects) {
      if (effect.type === 'preempt') {
        this.effects.push(...this.dispatch({ type: 'preempt', now: this.now, name: effect.task, for: effect.for }).effects)
        continue
      }
      if (effect.type !== 'spawn') continue
      this.dispatch({ type: 'started', now: this.now, name: effect.task, pid: this.nextPid++ })
      started.push(effect.task)
    }
    return started
  }

  /** The run of `name` ends; a clean exit unless told otherwise. */
  exit(name: string, options: ExitOptions = {}): Step {
    return this.dispatch({
      type: 'exited', now: this.now, name, pid: this.task(name).pid,
      code: options.code === undefined ? 0 : options.code, signal: options.signal ?? null,
      cause: options.cause ?? null, jitter: options.jitter ?? 0,
      ...(options.peakMemory === undefined ? {} : { peakMemory: options.peakMemory }),
    })
  }

  fail(name: string, jitter = 0): Step {
    return this.exit(name, { code: 1, jitter })
  }
}

export function stamp(events: readonly NewEvent[], lastSeq: number, now: number): TaskEvent[] {
  const time = new Date(now).toISOString()
  let seq = lastSeq
  return events.map((event) => ({ ...event, seq: ++seq, time }) as TaskEvent)
}

/** Event types with their task, for compact assertions: "task.due a". */
export const brief = (events: readonly TaskEvent[]): string[] => events.map((e) => `${e.type} ${e.task}`)
