// The machine sample admission relies on: CPU load from /proc/stat counters and memory from systeminformation.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { busyPercent, parseProcStat, systemProbe } from '../../src/runtime/system-probe.js'

const STAT = (user: number, idle: number, iowait: number): string =>
  `cpu  ${user} 0 100 ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 12345\n`

describe('system probe', () => {
  it('reads busy and total time from the aggregate cpu line, idle and iowait counted as idle', () => {
    assert.deepEqual(parseProcStat(STAT(900, 8000, 1000)), { busy: 1000, total: 10_000 })
  })

  it('refuses text that is not /proc/stat', () => {
    assert.equal(parseProcStat('cpu0 1 2 3 4\n'), null)
    assert.equal(parseProcStat('cpu  a b c d\n'), null)
    assert.equal(parseProcStat(''), null)
  })

  it('gives the busy share between two readings, bounded to 0-100', () => {
    const before = parseProcStat(STAT(900, 8000, 1000))!
    const after = parseProcStat(STAT(1200, 8700, 1000))!
    assert.equal(busyPercent(before, after), 30)
    assert.equal(busyPercent(after, after), 0)
    assert.equal(busyPercent(after, before), 0)
  })

  it('samples this machine: a load in 0-100 and available memory within the total', async () => {
    const probe = systemProbe()
    await probe.sample()
    let spin = 0
    const until = Date.now() + 50
    while (Date.now() < until) spin += 1
    const sample = await probe.sample()
    assert.ok(spin > 0)
    const { cpuPercent, freeBytes, totalBytes } = sample
    assert.ok(cpuPercent !== null && cpuPercent >= 0 && cpuPercent <= 100, String(cpuPercent))
    assert.ok(freeBytes !== null && totalBytes > 0 && freeBytes > 0 && freeBytes <= totalBytes)
  })
})
