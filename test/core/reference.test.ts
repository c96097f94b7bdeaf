// Property: random add/remove/stop/run/clock/exit sequences give the same starts and states as a naive sorted-array scheduler.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Limits } from '../../src/core/admission.js'
import { PRIORITIES, type Priority, type Restart, type TaskState } from '../../src/core/types.js'
import { CoreDriver, NO_LIMITS, T0 } from '../helpers/core-driver.js'

const MIN = 60_000

type Cmd =
  | { k: 'add'; priority: Priority; front: boolean; deadline: number | null; at: number; retries: number; restart: Restart }
  | { k: 'advance'; ms: number }
  | { k: 'exit'; pick: number; ok: boolean; jitter: number }
  | { k: 'remove' | 'stop' | 'run'; pick: number }

/** The naive model: a plain array, read straight from DESIGN.md, re-sorted on every start. */
interface RefTask {
  name: string; base: Priority; front: boolean; deadline: number | null; retries: number; restart: Restart
  state: TaskState; bumped: boolean; failures: number; attempts: number; dueAt: number; inserted: number
  /** When the current run began, and the backoff step the last retry waited (services grow it per quick exit). */
  startedAt: number; step: number
  /** Its last successful runs' durations (at most 10), and whether this cycle's deadline miss was said. */
  durations: number[]; missed: boolean
}

const LIVE = ['scheduled', 'ready', 'running', 'retrying']
const FINISHED = ['succeeded', 'failed', 'stopped']

class Reference {
  tasks: RefTask[] = []
  priorityEvents: string[] = []
  private inserted = 0
  constructor(readonly urgencyMs: number, readonly maxConcurrent: number) {}

  effective(t: RefTask): Priority {
    if (t.bumped) return 'high'
    return PRIORITIES[Math.min(PRIORITIES.indexOf(t.base) + Math.floor(t.failures / 2), 2)] as Priority
  }

  add(c: Extract<Cmd, { k: 'add' }>, name: string): void {
    const { priority: base, front, deadline, retries, restart } = c
    this.tasks.push({
      name, base, front, deadline, retries, restart, state: 'scheduled', bumped: false, failures: 0, attempts: 0,
      dueAt: c.at, inserted: this.inserted++, startedAt: 0, step: 0, durations: [], missed: false,
    })
  }

  /** When its deadline window opens: the urgency window before the latest start that ends in time. */
  opens(t: RefTask): number | null {
    if (t.deadline === null) return null
    const sorted = [...t.durations].sort((a, b) => a - b)
    const expected = sorted.length === 0 ? 0 : (sorted[Math.ceil(0.9 * sorted.length) - 1] as number)
    return t.deadline - expected - this.urgencyMs
  }

  /** The deadline this cycle can still miss. */
  missable(t: RefTask): number | null {
    return t.deadline !== null && !t.missed && (LIVE.includes(t.state) || t.state === 'failed') ? t.deadline : null
  }

  /** Whatever the clock alone changes at `now`: due dates and opening deadline windows of live tasks. */
  clock(now: number): void {
    for (const t of this.tasks) {
      if ((t.state === 'scheduled' || t.state === 'retrying') && t.dueAt <= now) t.state = 'ready'
      const opens = this.opens(t)
      if (LIVE.includes(t.state) && !t.bumped && opens !== null && opens <= now) {
        t.bumped = true
        this.priorityEvents.push(`${t.name} high deadline`)
      }
      const missable = this.missable(t)
      if (missable !== null && missable <= now) t.missed = true
    }
  }

  /** The whole ready list sorted by the five rules, every time. */
  start(now: number): string[] {
    const rank = (t: RefTask): number[] => [
      PRIORITIES.indexOf(this.effective(t)), t.front ? 0 : 1, t.front ? -t.inserted : 0,
      t.deadline ?? Infinity, t.dueAt, t.inserted,
    ]
    const byRule = (a: RefTask, b: RefTask): number => {
      const [ra, rb] = [rank(a), rank(b)]
      for (let i = 0; i < ra.length; i += 1) if (ra[i] !== rb[i]) return (ra[i] as number) < (rb[i] as number) ? -1 : 1
      return 0
    }
    const free = this.maxConcurrent - this.tasks.filter((t) => t.state === 'running').length
    const chosen = this.tasks.filter((t) => t.state === 'ready').sort(byRule).slice(0, Math.max(0, free))
    for (const t of chosen) {
      t.state = 'running'
      t.attempts += 1
      t.startedAt = now
    }
    return chosen.map((t) => t.name)
  }

  exit(t: RefTask, ok: boolean, jitter: number, now: number): void {
    const before = this.effective(t)
    if (ok) t.durations = [...t.durations, now - t.startedAt].slice(-10)
    t.failures = ok ? 0 : t.failures + 1
    const after = this.effective(t)
    if (after !== before) this.priorityEvents.push(`${t.name} ${after} failures`)
    if (t.restart === 'always') {
      // A service restarts after every exit; a run of 10 s or more resets its backoff (no wait after a success).
      const stable = now - t.startedAt >= 10_000
      return this.retry(t, stable ? (ok ? 0 : 1) : t.step + 1, jitter, now)
    }
    if (!ok && t.restart === 'on-failure' && t.failures <= t.retries) return this.retry(t, t.failures, jitter, now)
    t.state = ok ? 'succeeded' : 'failed'
  }

  private retry(t: RefTask, step: number, jitter: number, now: number): void {
    t.state = 'retrying'
    t.step = step
    t.dueAt = now + (step === 0 ? 0 : Math.round(Math.min(5 * MIN, 1000 * 2 ** (step - 1) * (1 + 0.2 * jitter))))
  }

  run(t: RefTask, now: number): void {
    if (FINISHED.includes(t.state)) {
      t.attempts = 0
      t.failures = 0
      t.step = 0
      t.missed = t.deadline !== null && now >= t.deadline
    }
    t.state = 'ready'
    t.dueAt = now
    t.inserted = this.inserted++
  }

  nextEventAt(): number | null {
    const times: number[] = []
    for (const t of this.tasks) {
      if (t.state === 'scheduled' || t.state === 'retrying') times.push(t.dueAt)
      const opens = this.opens(t)
      if (LIVE.includes(t.state) && !t.bumped && opens !== null) times.push(opens)
      const missable = this.missable(t)
      if (missable !== null) times.push(missable)
    }
    return times.length === 0 ? null : Math.min(...times)
  }
}

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({
    k: fc.constant('add' as const),
    priority: fc.constantFrom(...PRIORITIES),
    front: fc.boolean(),
    deadline: fc.option(fc.integer({ min: -2, max: 20 }).map((m) => m * MIN), { freq: 2 }),
    at: fc.integer({ min: -2, max: 10 }).map((h) => h * 30_000),
    retries: fc.integer({ min: 0, max: 3 }),
    restart: fc.constantFrom<Restart>('on-failure', 'on-failure', 'never', 'always'),
  }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 24 }).map((q) => q * 15_000) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('exit' as const), pick: fc.nat(), ok: fc.boolean(), jitter: fc.integer({ min: -10, max: 10 }).map((j) => j / 10) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('remove' as const, 'stop' as const, 'run' as const), pick: fc.nat() }) },
)

const snapshot = (d: CoreDriver): object =>
  Object.fromEntries([...d.state.tasks.values()].map((t) => [t.spec.name, {
    state: t.state, priority: t.priority, attempts: t.attempts, dueAt: LIVE.includes(t.state) ? t.dueAt : null,
  }]))

const refSnapshot = (r: Reference): object =>
  Object.fromEntries(r.tasks.map((t) => [t.name, {
    state: t.state, priority: r.effective(t), attempts: t.attempts, dueAt: LIVE.includes(t.state) ? t.dueAt : null,
  }]))

function check(cmds: Cmd[], maxConcurrent: number, urgencyMs: number): string[] {
  const d = new CoreDriver({ config: { urgencyMs } })
  const ref = new Reference(urgencyMs, maxConcurrent)
  const limits: Limits = { ...NO_LIMITS, maxConcurrent }
  const starts: string[] = []
  const refStarts: string[] = []
  let named = 0
  for (const [step, cmd] of cmds.entries()) {
    const logged = d.log.length
    const pick = (states: readonly string[], n: number) => {
      const pool = ref.tasks.filter((t) => states.includes(t.state)).sort((a, b) => a.name.localeCompare(b.name))
      return pool.length === 0 ? undefined : pool[n % pool.length]
    }
    if (cmd.k === 'add') {
      const name = `t${named++}`
      const { k: _, ...rest } = cmd
      const fields = { ...rest, at: d.now + cmd.at, deadline: cmd.deadline === null ? null : d.now + cmd.deadline }
      d.add(name, fields)
      ref.add({ ...cmd, ...fields }, name)
    } else if (cmd.k === 'advance') {
      d.now += cmd.ms
    } else if (cmd.k === 'exit') {
      const t = pick(['running'], cmd.pick)
      if (t !== undefined) {
        d.exit(t.name, { code: cmd.ok ? 0 : 1, jitter: cmd.jitter })
        ref.exit(t, cmd.ok, cmd.jitter, d.now)
      }
    } else if (cmd.k === 'remove') {
      const t = pick([...LIVE, ...FINISHED], cmd.pick)
      if (t !== undefined) {
        const pid = d.task(t.name).pid
        d.dispatch({ type: 'remove', now: d.now, name: t.name })
        if (pid !== null) d.dispatch({ type: 'exited', now: d.now, name: t.name, pid, code: null, signal: 'SIGTERM', cause: 'remove', jitter: 0 })
        ref.tasks = ref.tasks.filter((x) => x !== t)
      }
    } else if (cmd.k === 'stop') {
      const t = pick(LIVE, cmd.pick)
      if (t !== undefined) {
        const kill = d.dispatch({ type: 'stop', now: d.now, name: t.name }).effects[0]
        if (kill?.type === 'signal') d.exit(t.name, { code: null, signal: 'SIGTERM', cause: 'stop' })
        t.state = 'stopped'
      }
    } else {
      const t = pick(['scheduled', 'ready', 'retrying', ...FINISHED], cmd.pick)
      if (t !== undefined) {
        d.dispatch({ type: 'run', now: d.now, name: t.name })
        ref.run(t, d.now)
      }
    }
    // As the runtime's tick: a clock action only when the core says something is due, then start what fits.
    const next = d.nextEventAt()
    if (next !== null && next <= d.now) d.clockAt(d.now)
    ref.clock(d.now)
    const began = d.startDue(undefined, limits)
    const refBegan = ref.start(d.now)
    starts.push(...began)
    refStarts.push(...refBegan)
    const where = `step ${step} (${JSON.stringify(cmd)}) at +${d.now - T0} ms`
    assert.deepEqual(began, refBegan, `starts differ at ${where}`)
    const moves = d.log.slice(logged).flatMap((e) => (e.type === 'task.priority' ? [`${e.task} ${e.to} ${e.reason}`] : []))
    assert.deepEqual(moves.sort(), ref.priorityEvents.splice(0).sort(), `priority events differ at ${where}`)
    assert.deepEqual(snapshot(d), refSnapshot(ref), `states differ at ${where}`)
    assert.equal(d.nextEventAt(), ref.nextEventAt(), `next event differs at ${where}`)
    assert.ok(d.state.running.size <= maxConcurrent)
  }
  assert.deepEqual(starts, refStarts)
  return starts
}

test('property: the core starts tasks in the same order and leaves the same states as a naive reference', () => {
  fc.assert(
    fc.property(
      fc.array(cmdArb, { minLength: 5, maxLength: 60, size: 'max' }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(5 * MIN, 2 * MIN),
      (cmds, maxConcurrent, urgencyMs) => {
        check(cmds, maxConcurrent, urgencyMs)
      },
    ),
    { numRuns: 200 },
  )
})

test('a fixed sequence through the same harness starts in the known order', () => {
  const add = (priority: Priority, front: boolean, deadline: number | null): Cmd =>
    ({ k: 'add', priority, front, deadline, at: 0, retries: 0, restart: 'never' })
  const done: Cmd = { k: 'exit', pick: 0, ok: true, jitter: 0 }
  const cmds = [add('low', false, null), add('medium', false, null), add('high', true, null), add('high', false, 60 * MIN), done, done, done]
  assert.deepEqual(check(cmds, 1, 5 * MIN), ['t0', 't2', 't3', 't1'])
})
