// Parsing what users type: durations, sizes and dates, with every malformed form refused.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseDate, parseDuration, parseSize } from '../../src/config/units.js'

describe('parseDuration', () => {
  for (const [text, ms] of [['500ms', 500], ['10s', 10_000], ['5m', 300_000], ['2h', 7_200_000], ['1d', 86_400_000], ['1.5s', 1500]] as const) {
    it(`reads ${text}`, () => assert.equal(parseDuration(text), ms))
  }
  for (const text of ['', '10', 's', '10x', '-5s', '5 m', '1e3s']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseDuration(text), null))
  }
})

describe('parseSize', () => {
  const total = 8 * 1024 ** 3
  for (const [text, bytes] of [['1048576', 1048576], ['512K', 512 * 1024], ['256M', 256 * 1024 ** 2], ['2G', 2 * 1024 ** 3], ['10%', Math.round(total / 10)], ['100%', total], ['1.5G', 1.5 * 1024 ** 3]] as const) {
    it(`reads ${text}`, () => assert.equal(parseSize(text, total), bytes))
  }
  for (const text of ['', 'M', '12Q', '101%', '-5M', 'ten']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseSize(text, total), null))
  }
})

describe('parseDate', () => {
  const now = Date.UTC(2026, 10, 27, 12, 0, 0)
  it('reads now and +DURATION from now', () => {
    assert.equal(parseDate('now', now), now)
    assert.equal(parseDate('+10s', now), now + 10_000)
    assert.equal(parseDate('+2h', now), now + 7_200_000)
  })
  it('reads ISO dates with an offset as that instant', () => {
    assert.equal(parseDate('2026-11-27T10:00:00Z', now), Date.UTC(2026, 10, 27, 10))
    assert.equal(parseDate('2026-11-27T10:00:00+02:00', now), Date.UTC(2026, 10, 27, 8))
    assert.equal(parseDate('2026-11-27T10:00:00.250-0130', now), Date.UTC(2026, 10, 27, 11, 30, 0, 250))
  })
  it('reads ISO dates without an offset as local time', () => {
    assert.equal(parseDate('2026-11-27T10:00', now), new Date(2026, 10, 27, 10, 0).getTime())
    assert.equal(parseDate('2026-11-27', now), new Date(2026, 10, 27).getTime())
  })
  for (const text of ['tomorrow', '2026-02-30', '2026-02-30T00:00', '2026-13-01', '2026-11-27T25:00', '2026-11-27T10:61', '+10', '+-5s', '27/11/2026', '']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseDate(text, now), null))
  }
})

describe('parseDate years before 100', () => {
  it('reads year 0070 as year 70, not 1970 (the Date constructor adds 1900 to years 0-99)', () => {
    const at = parseDate('0070-01-01T00:00:00Z', 0)
    assert.ok(at !== null)
    assert.equal(new Date(at).getUTCFullYear(), 70)
    assert.equal(new Date(parseDate('0099-06-01', 0) as number).getFullYear(), 99)
  })
})
