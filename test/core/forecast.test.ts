// The forecast: the planner's order run forward on a simulated clock. With exact durations and no new
// arrivals it is what then happens (a property test drives the real core alongside to check).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { forecast } from '../../src/core/forecast.js'
import { PRIORITIES } from '../../src/core/types.js'
import { CoreDriver, NO_LIMITS, T0 } from '../helpers/core-driver.js'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

const starts = (d: CoreDriver, slots: number, horizonMs = DAY): Record<string, [number, number]> =>
  Object.fromEntries(forecast(d.state, d.now, { horizonMs, unknownMs: MIN, slots }).rows.map((r) => [r.task, [(r.start - T0) / MIN, (r.end - T0) / MIN]]))

describe('forecast', () => {
  it('runs the queue forward: one slot, in start order, each for its expected duration', () => {
    const d = new CoreDriver()
    d.add('low', { priority: 'low', expectMs: 10 * MIN })
    d.add('high', { priority: 'high', expectMs: 5 * MIN })
    d.add('later', { at: T0 + 30 * MIN, expectMs: 20 * MIN })
    d.add('unknown')
    assert.deepEqual(starts(d, 1), { high: [0, 5], unknown: [5, 6], low: [6, 16], later: [30, 50] })
  })

  it('counts the runs going on: their slots free at their expected ends', () => {
    const d = new CoreDriver()
    d.add('a', { expectMs: 30 * MIN })
    d.startDue(undefined, { ...NO_LIMITS, maxConcurrent: 1 })
    d.now = T0 + 10 * MIN
    d.add('b', { expectMs: 5 * MIN })
    const result = forecast(d.state, d.now, { horizonMs: DAY, unknownMs: MIN, slots: 1 })
    assert.deepEqual(result.rows.map((r) => [r.task, (r.start - T0) / MIN, (r.end - T0) / MIN, r.running]), [['a', 0, 30, true], ['b', 30, 35, false]])
  })

  it('marks a deadline task at risk when its expected end is past its deadline', () => {
    const d = new CoreDriver()
    d.add('first', { expectMs: HOUR })
    d.add('due', { expectMs: 30 * MIN, deadline: T0 + HOUR })
    const rows = forecast(d.state, d.now, { horizonMs: DAY, unknownMs: MIN, slots: 1 }).byTask
    assert.equal(rows.get('first')?.atRisk, false)
    // Its deadline puts it first (earliest deadline first within a class): it is not at risk then.
    assert.equal(rows.get('due')?.start, T0)
    d.add('tight', { priority: 'high', expectMs: 2 * HOUR, deadline: T0 + HOUR })
    assert.equal(forecast(d.state, d.now, { horizonMs: DAY, unknownMs: MIN, slots: 1 }).byTask.get('tight')?.atRisk, true)
  })

  it('stops at the horizon, and holds a service\'s slot for good', () => {
    const d = new CoreDriver()
    d.add('svc', { restart: 'always' })
    d.add('next', { expectMs: MIN })
    const rows = forecast(d.state, d.now, { horizonMs: HOUR, unknownMs: MIN, slots: 1 }).rows
    assert.deepEqual(rows.map((r) => [r.task, r.end]), [['svc', Infinity]], 'nothing after a service on its only slot')
    d.add('far', { at: T0 + 2 * HOUR })
    assert.equal(forecast(d.state, d.now, { horizonMs: HOUR, unknownMs: MIN, slots: 2 }).byTask.has('far'), false)
  })

  it('equals what then happens, with exact durations and no new arrivals (property)', () => {
    const task = fc.record({
      at: fc.integer({ min: 0, max: 40 }), ms: fc.integer({ min: 1, max: 30 }),
      priority: fc.constantFrom(...PRIORITIES), front: fc.boolean(),
    })
    fc.assert(fc.property(fc.array(task, { minLength: 1, maxLength: 14 }), fc.integer({ min: 1, max: 4 }), (tasks, slots) => {
      const d = new CoreDriver()
      const length = new Map<string, number>()
      tasks.forEach((t, i) => {
        length.set(`t${i}`, t.ms * MIN)
        d.add(`t${i}`, { at: T0 + t.at * MIN, expectMs: t.ms * MIN, priority: t.priority, front: t.front, retries: 0, restart: 'never' })
      })
      const predicted = forecast(d.state, T0, { horizonMs: DAY, unknownMs: MIN, slots })
      // The real core, as the daemon's tick drives it: exits, then the clock, then what fits starts.
      const limits = { ...NO_LIMITS, maxConcurrent: slots }
      const actual = new Map<string, number>()
      const ends = new Map<string, number>()
      const startWhatFits = (): void => {
        for (const name of d.startDue(undefined, limits)) {
          actual.set(name, d.now)
          ends.set(name, d.now + (length.get(name) as number))
        }
      }
      startWhatFits()
      while (actual.size < tasks.length || ends.size > 0) {
        const next = Math.min(d.nextEventAt() ?? Infinity, ...ends.values())
        assert.ok(Number.isFinite(next), 'something is always next until all ran')
        d.now = next
        for (const [name, end] of ends) {
          if (end > d.now) continue
          ends.delete(name)
          d.exit(name)
        }
        if ((d.nextEventAt() ?? Infinity) <= d.now) d.clockAt(d.now)
        startWhatFits()
      }
      assert.equal(predicted.rows.length, tasks.length)
      for (const row of predicted.rows) assert.equal(row.start, actual.get(row.task), `${row.task} forecast at +${(row.start - T0) / MIN} min`)
    }), { numRuns: 300 })
  })
})
