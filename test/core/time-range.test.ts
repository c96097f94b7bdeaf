// The core decides every exit, even when a retry or the next cron slot lies beyond year 9999: such
// times are clamped to the last representable instant, never a thrown RangeError.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_TIME } from '../../src/core/time-range.js'
import { CoreDriver, T0 } from '../helpers/core-driver.js'

const DAY = 86_400_000
const LAST = new Date(MAX_TIME).toISOString()

describe('exits with times beyond the representable range', () => {
  it('a retry after a backoff the boundary would refuse (daemon settings) is clamped to 9999-12-31', () => {
    // 99999999d: what `backoff: {base: "99999999d"}` resolved to before the boundary bounded durations.
    const huge = { baseMs: 99_999_999 * DAY, factor: 2, capMs: 99_999_999 * DAY }
    const d = new CoreDriver({ config: { backoff: huge } })
    d.add('a', { retries: 3 })
    d.startDue()
    const { events } = d.fail('a')
    const retry = events.find((e) => e.type === 'task.retrying')
    assert.ok(retry !== undefined && retry.type === 'task.retrying', JSON.stringify(events))
    assert.equal(retry.at, LAST)
    assert.equal(d.task('a').state, 'retrying')
  })

  it('a task backoff of Infinity or NaN, and a service restart, are clamped too', () => {
    const d = new CoreDriver()
    d.add('inf', { retries: 1, backoff: { baseMs: Infinity, factor: 10, capMs: Infinity } })
    d.add('nan', { retries: 1, backoff: { baseMs: NaN, factor: NaN, capMs: NaN } })
    d.add('svc', { restart: 'always', backoff: { baseMs: 8e15, factor: 10, capMs: 8e15 } })
    d.startDue()
    for (const name of ['inf', 'nan', 'svc']) {
      const { events } = d.fail(name)
      const retry = events.find((e) => e.type === 'task.retrying')
      assert.ok(retry !== undefined && retry.type === 'task.retrying', `${name}: ${JSON.stringify(events)}`)
      assert.equal(retry.at, LAST, name)
    }
  })

  it('a cron task with no slot left before year 10000 ends its cycle and waits for none', () => {
    const late = Date.UTC(9999, 5, 1)
    const d = new CoreDriver({ now: late })
    d.add('c', { cron: '0 0 1 1 *', at: late })
    d.startDue()
    const { events } = d.exit('c')
    assert.deepEqual(events.filter((e) => e.type === 'task.scheduled'), [], JSON.stringify(events))
    assert.equal(d.task('c').state, 'succeeded')
  })
})
