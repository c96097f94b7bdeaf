// Cron policies on a fake clock: `overlap` (a slot that comes while the previous cycle still goes on:
// skip, queue, replace), `missed` (a slot the daemon was not there for: once, skip), and daylight
// saving: a daily slot runs exactly once on both transition days.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { nextCronTime } from '../../src/core/calendar.js'
import { MISSED_GRACE_MS } from '../../src/core/decide.js'
import { countFailure, type ErrorGroup } from '../../src/core/failures.js'
import type { MissedPolicy, OverlapPolicy, TaskEvent, TaskSpec } from '../../src/core/types.js'
import { brief, CoreDriver, T0 } from '../helpers/core-driver.js'

const MIN = 60_000
const iso = (ms: number): string => new Date(ms).toISOString()
type Of<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>

/** A task every 10 minutes from T0 (a slot), due and started at T0. */
function everyTen(fields: Partial<TaskSpec> = {}): CoreDriver {
  const d = new CoreDriver()
  d.add('c', { cron: '*/10 * * * *', at: T0, retries: 0, ...fields })
  assert.deepEqual(d.startDue(), ['c'])
  return d
}

function overlapping(policy: OverlapPolicy): CoreDriver {
  return everyTen({ overlap: policy })
}

function only<T extends TaskEvent['type']>(events: readonly TaskEvent[], type: T): Of<T> {
  const found = events.filter((e): e is Of<T> => e.type === type)
  assert.equal(found.length, 1, `one ${type} in ${JSON.stringify(brief(events))}`)
  return found[0] as Of<T>
}

describe('cron cycles', () => {
  it('a run that ends before the next slot waits for it; nothing is said of overlap', () => {
    const d = everyTen()
    const started = d.log.find((e) => e.type === 'run.started') as Of<'run.started'>
    assert.equal(started.slot, iso(T0 + 10 * MIN), 'the run knows its next slot')
    d.advance(MIN)
    const end = d.exit('c')
    assert.deepEqual(brief(end.events), ['run.exited c', 'task.succeeded c', 'task.scheduled c'])
    assert.equal(only(end.events, 'task.scheduled').at, iso(T0 + 10 * MIN))
    assert.equal(d.nextEventAt(), T0 + 10 * MIN)
  })
})

describe('overlap', () => {
  it('skip (default): the slot passes without a run and is recorded; the next slot after the run is kept', () => {
    const d = overlapping('skip')
    assert.equal(d.nextEventAt(), T0 + 10 * MIN, 'the clock wakes at the slot')
    const slot = d.clockAt(T0 + 10 * MIN)
    const overlap = only(slot.events, 'task.slot-overlap')
    assert.deepEqual([overlap.at, overlap.policy, overlap.next], [iso(T0 + 10 * MIN), 'skip', iso(T0 + 20 * MIN)])
    assert.deepEqual(slot.effects, [])
    d.clockAt(T0 + 15 * MIN)
    const end = d.exit('c')
    assert.equal(only(end.events, 'task.scheduled').at, iso(T0 + 20 * MIN))
    assert.equal(d.task('c').state, 'scheduled')
  })

  it('queue: the slot runs right after the run; several slots during one run run once', () => {
    const d = overlapping('queue')
    d.clockAt(T0 + 10 * MIN)
    d.clockAt(T0 + 20 * MIN)
    assert.equal(d.log.filter((e) => e.type === 'task.slot-overlap').length, 2)
    d.clockAt(T0 + 25 * MIN)
    const end = d.exit('c')
    assert.deepEqual(brief(end.events), ['run.exited c', 'task.succeeded c', 'task.scheduled c', 'task.due c'])
    assert.equal(only(end.events, 'task.scheduled').at, iso(T0 + 10 * MIN), 'the first slot it queued')
    assert.equal(only(end.events, 'task.due').reason, 'overlap')
    assert.deepEqual(d.startDue(), ['c'])
    d.advance(MIN)
    const second = d.exit('c')
    assert.equal(only(second.events, 'task.scheduled').at, iso(T0 + 30 * MIN), 'then the next slot from now')
  })

  it('replace: the run is stopped (outcome stopped, no failure) and the slot runs at once', () => {
    const d = overlapping('replace')
    const slot = d.clockAt(T0 + 10 * MIN)
    assert.deepEqual(brief(slot.events), ['task.slot-overlap c', 'run.stopping c'])
    assert.equal(only(slot.events, 'run.stopping').cause, 'replace')
    assert.deepEqual(slot.effects, [{ type: 'signal', task: 'c', pid: 1000, signal: 'SIGTERM' }])
    const end = d.exit('c', { code: null, signal: 'SIGTERM' })
    const exited = only(end.events, 'run.exited')
    assert.equal(exited.outcome, 'stopped')
    assert.match(exited.cause ?? '', /replaced by its cron slot/)
    assert.deepEqual(brief(end.events), ['run.exited c', 'task.scheduled c', 'task.due c'])
    assert.deepEqual(d.startDue(), ['c'])
    assert.equal(d.task('c').attempts, 1)
    const groups = new Map<string, ErrorGroup>()
    for (const event of d.log) countFailure(groups, event)
    assert.equal(groups.size, 0, 'a replaced run is no failure')
  })

  it('a slot during the wait for a retry: skip lets it pass, replace starts the slot at once', () => {
    const backoff = { baseMs: 15 * MIN, factor: 2, capMs: 60 * MIN }
    for (const policy of ['skip', 'queue', 'replace'] as const) {
      const d = everyTen({ overlap: policy, retries: 2, backoff })
      d.advance(MIN)
      d.fail('c')
      assert.equal(d.task('c').state, 'retrying')
      const slot = d.clockAt(T0 + 10 * MIN)
      assert.equal(only(slot.events, 'task.slot-overlap').policy, policy)
      assert.equal(d.task('c').state, policy === 'replace' ? 'ready' : 'retrying', policy)
      if (policy === 'replace') assert.equal(d.task('c').attempts, 0, 'a new cycle')
    }
  })

  it('a slot the run ended on, before the clock saw it, is an overlap like any other', () => {
    const skip = overlapping('skip')
    const end = skip.clockAt(T0 + 10 * MIN + 1) && skip.exit('c')
    assert.equal(end.events.filter((e) => e.type === 'task.due').length, 0)
    const queue = overlapping('queue')
    queue.now = T0 + 10 * MIN
    const late = queue.exit('c')
    assert.deepEqual(brief(late.events), ['run.exited c', 'task.succeeded c', 'task.scheduled c', 'task.due c'])
  })

  it('a stopped cron task run again by hand keeps no slot of its old cycle', () => {
    const d = overlapping('replace')
    d.dispatch({ type: 'stop', now: d.now, name: 'c' })
    d.exit('c', { code: null, signal: 'SIGTERM' })
    d.clockAt(T0 + 30 * MIN + 1)
    d.dispatch({ type: 'run', now: d.now, name: 'c' })
    d.startDue()
    assert.equal((d.log.filter((e) => e.type === 'run.started').at(-1) as Of<'run.started'>).slot, iso(T0 + 40 * MIN))
    assert.deepEqual(brief(d.advance(MIN).events), [], 'no stale overlap')
  })
})

describe('missed slots', () => {
  /** The first run done, the task waits for T0+10m; the daemon comes back at `back`. */
  function downUntil(policy: MissedPolicy, back: number): CoreDriver {
    const d = everyTen({ missed: policy })
    d.advance(MIN)
    d.exit('c')
    d.now = back
    d.dispatch({ type: 'boot', now: back })
    return d
  }

  it('once (default): slots passed while the daemon was down run once, and it is recorded', () => {
    const d = downUntil('once', T0 + 35 * MIN)
    const missed = only(d.log, 'task.slot-missed')
    assert.deepEqual([missed.at, missed.policy], [iso(T0 + 10 * MIN), 'once'])
    assert.equal(d.task('c').state, 'ready')
    assert.deepEqual(d.startDue(), ['c'])
    d.advance(MIN)
    assert.equal(only(d.exit('c').events, 'task.scheduled').at, iso(T0 + 40 * MIN))
  })

  it('skip: slots passed while the daemon was down are recorded and the next slot awaited', () => {
    const d = downUntil('skip', T0 + 35 * MIN)
    assert.deepEqual(brief(d.log.slice(-2)), ['task.slot-missed c', 'task.scheduled c'])
    assert.equal((d.log.at(-1) as Of<'task.scheduled'>).at, iso(T0 + 40 * MIN))
    assert.deepEqual(d.startDue(), [])
    assert.equal(d.clockAt(T0 + 40 * MIN).events[0]?.type, 'task.due', 'then it runs at its slot')
  })

  it('a slot the clock reaches over a minute late (asleep) is missed; a little late is not', () => {
    const asleep = everyTen({ missed: 'skip' })
    asleep.advance(MIN)
    asleep.exit('c')
    assert.deepEqual(brief(asleep.clockAt(T0 + 10 * MIN + MISSED_GRACE_MS + 1).events), ['task.slot-missed c', 'task.scheduled c'])
    const busy = everyTen({ missed: 'skip' })
    busy.advance(MIN)
    busy.exit('c')
    const due = busy.clockAt(T0 + 10 * MIN + MISSED_GRACE_MS - 1)
    assert.deepEqual(brief(due.events), ['task.due c'])
  })

  it('a slot not yet come at boot is not missed', () => {
    const d = downUntil('skip', T0 + 5 * MIN)
    assert.equal(d.log.filter((e) => e.type === 'task.slot-missed').length, 0)
    assert.equal(d.task('c').state, 'scheduled')
  })
})

describe('daylight saving', () => {
  /** Run every slot from `from` to `to` (a minute each), as the daemon would; local dates of the starts. */
  function runDays(cron: string, tz: string, from: number, to: number): string[] {
    const d = new CoreDriver({ now: from })
    // Its first slot, as a definition gets it.
    d.add('daily', { cron, cronTz: tz, at: nextCronTime(cron, tz, from) ?? from })
    const starts: string[] = []
    const local = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    for (let i = 0; i < 100; i++) {
      const next = d.nextEventAt()
      if (next === null || next > to) break
      d.clockAt(next)
      for (const name of d.startDue()) {
        assert.equal(name, 'daily')
        starts.push(local.format(d.now))
        d.advance(MIN)
        d.exit('daily')
      }
    }
    return starts
  }

  it('02:30 daily in Europe/Berlin: once on the spring-forward day (at 03:00), once on the fall-back day', () => {
    const spring = runDays('30 2 * * *', 'Europe/Berlin', Date.UTC(2025, 2, 28, 12), Date.UTC(2025, 3, 1, 12))
    assert.deepEqual(spring, ['2025-03-29, 02:30', '2025-03-30, 03:00', '2025-03-31, 02:30', '2025-04-01, 02:30'])
    const autumn = runDays('30 2 * * *', 'Europe/Berlin', Date.UTC(2025, 9, 24, 12), Date.UTC(2025, 9, 28, 12))
    assert.deepEqual(autumn, ['2025-10-25, 02:30', '2025-10-26, 02:30', '2025-10-27, 02:30', '2025-10-28, 02:30'])
  })

  it('in America/New_York: 02:30 once on the spring-forward day, 01:30 (which happens twice) once on the fall-back day', () => {
    const spring = runDays('30 2 * * *', 'America/New_York', Date.UTC(2025, 2, 8, 12), Date.UTC(2025, 2, 11, 12))
    assert.deepEqual(spring, ['2025-03-09, 03:00', '2025-03-10, 02:30', '2025-03-11, 02:30'])
    const autumn = runDays('30 1 * * *', 'America/New_York', Date.UTC(2025, 10, 1, 12), Date.UTC(2025, 10, 4, 12))
    assert.deepEqual(autumn, ['2025-11-02, 01:30', '2025-11-03, 01:30', '2025-11-04, 01:30'])
  })
})
