// End to end: retry backoff, timeouts over a whole process group, memory limits, services and cron, with real processes.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { alive, waitFor } from '../helpers/wait.js'

const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']
const MB = 1024 * 1024
const ms = (iso: string): number => Date.parse(iso)

describe('runtime features of a real daemon', () => {
  const suite = daemonForSuite(FLAGS)

  async function remove(name: string): Promise<void> {
    const removed = await suite.daemon.ctl(['remove', name])
    assert.equal(removed.code, 0, removed.stderr)
  }

  it('waits longer before each retry (base 1 s, factor 2, ±20 % jitter), then fails', { timeout: 60_000 }, async () => {
    await suite.daemon.add('backoff', ['--script', fixture('fail.sh'), '--retries', '3'])
    const failed = await suite.daemon.waitForType('task.failed', 'backoff', () => true, 30_000)
    const starts = suite.daemon.eventsOf('run.started', 'backoff')
    const exits = suite.daemon.eventsOf('run.exited', 'backoff')
    const retries = suite.daemon.eventsOf('task.retrying', 'backoff')
    assert.deepEqual(starts.map((e) => e.attempt), [1, 2, 3, 4])
    assert.deepEqual(exits.map((e) => [e.outcome, e.code]), Array(4).fill(['failed', 3]))
    assert.equal(retries.length, 3)
    const gaps: number[] = []
    for (let i = 1; i <= 3; i++) {
      const [exit, retry, previous, next] = [exits[i - 1], retries[i - 1], starts[i - 1], starts[i]]
      assert.ok(exit !== undefined && retry !== undefined && previous !== undefined && next !== undefined)
      const expected = 1000 * 2 ** (i - 1)
      const wait = ms(retry.at) - ms(exit.time)
      assert.ok(wait >= expected * 0.8 && wait <= expected * 1.2, `retry ${i} waits ${wait} ms, expected ${expected} ±20 %`)
      assert.ok(ms(next.time) >= ms(retry.at), `run ${i + 1} started before its backoff ended`)
      assert.ok(ms(next.time) - ms(retry.at) < 1000, `run ${i + 1} started ${ms(next.time) - ms(retry.at)} ms after its backoff`)
      gaps.push(ms(next.time) - ms(previous.time))
    }
    for (let i = 1; i < gaps.length; i++) {
      assert.ok((gaps[i] as number) > (gaps[i - 1] as number), `gaps between starts grow: ${gaps.join(', ')} ms`)
    }
    assert.ok(failed.seq > (exits[3]?.seq ?? Infinity), 'task.failed follows the last run')
    assert.equal((await suite.daemon.task('backoff')).state, 'failed')
  })

  it('ends the whole process group on --timeout: outcome timeout, the grandchild gone', { timeout: 30_000 }, async () => {
    const pidFile = join(suite.work, 'grandchild.pid')
    await suite.daemon.add('slow', ['--script', fixture('grandchild.sh'), '--timeout', '1s', '--retries', '0', '--', pidFile])
    const started = await suite.daemon.waitForType('run.started', 'slow')
    const grandchild = await waitFor(async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || null, 'the grandchild pid')
    assert.ok(alive(grandchild), 'the grandchild runs before the timeout')
    const exited = await suite.daemon.waitForType('run.exited', 'slow')
    assert.equal(exited.outcome, 'timeout')
    assert.equal(exited.cause, 'timeout after 1s')
    assert.ok(exited.durationMs >= 1000 && exited.durationMs < 4000, `ended after ${exited.durationMs} ms`)
    await suite.daemon.waitForType('task.failed', 'slow')
    // Orphans are reaped by init, which may take a moment.
    await waitFor(() => !alive(grandchild), `grandchild ${grandchild} to be gone`, 5000)
    await waitFor(() => !alive(-started.pid), `process group ${started.pid} to be gone`, 5000)
    const task = await suite.daemon.task('slow')
    assert.equal(task.lastOutcome, 'timeout')
    assert.equal(task.state, 'failed')
  })

  it('kills a run over its --memory limit (outcome killed) and records its peak', { timeout: 30_000 }, async () => {
    await suite.daemon.add('hog', ['--script', fixture('memory-hog.sh'), '--memory', '100M', '--retries', '0', '--', '300'])
    const started = await suite.daemon.waitForType('run.started', 'hog')
    const exited = await suite.daemon.waitForType('run.exited', 'hog')
    assert.equal(exited.outcome, 'killed')
    assert.ok(exited.peakMemory !== undefined, 'run.exited carries peakMemory')
    // Polled, the peak passes the limit before the kill; held by the kernel (a cgroup), it reaches it.
    assert.ok(exited.peakMemory > 90 * MB, `peak ${exited.peakMemory} bytes reached the 100M limit`)
    await suite.daemon.waitForType('task.failed', 'hog')
    assert.deepEqual(suite.daemon.eventsOf('task.retrying', 'hog'), [], '--retries 0: no retry')
    assert.equal(alive(started.pid), false)
    assert.match(exited.cause ?? '', /^memory limit 100M exceeded \(peak \d+(\.\d)?M\)$/)
    const task = await suite.daemon.task('hog')
    assert.equal(task.lastOutcome, 'killed')
    assert.equal(task.memoryBytes, 100 * MB)
  })

  it('starts a --restart always service again after each exit, never marking it done', { timeout: 30_000 }, async () => {
    await suite.daemon.add('svc', ['--script', fixture('ok.sh'), '--restart', 'always', '--retries', '0'])
    try {
      const starts = await waitFor(() => {
        const seen = suite.daemon.eventsOf('run.started', 'svc')
        return seen.length >= 3 ? seen : undefined
      }, 'svc to start 3 times', 20_000)
      const exits = suite.daemon.eventsOf('run.exited', 'svc')
      assert.deepEqual(starts.slice(0, 3).map((e) => e.attempt), [1, 2, 3])
      for (const exit of exits) assert.equal(exit.outcome, 'succeeded')
      // Each start after the first follows an exit and a planned restart.
      for (let i = 1; i < 3; i++) {
        const [previous, next] = [starts[i - 1], starts[i]]
        assert.ok(previous !== undefined && next !== undefined)
        const between = suite.daemon.events.filter((e) => e.task === 'svc' && e.seq > previous.seq && e.seq < next.seq)
        assert.deepEqual(between.map((e) => e.type).filter((t) => t !== 'task.due'), ['run.exited', 'task.retrying'])
      }
      assert.deepEqual(suite.daemon.eventsOf('task.succeeded', 'svc'), [], 'a service is never finished')
      assert.deepEqual(suite.daemon.eventsOf('task.failed', 'svc'), [], '--retries 0 does not end a service')
    } finally {
      await remove('svc')
    }
  })

  it('runs a --cron task every second, scheduling the next slot after each run', { timeout: 30_000 }, async () => {
    await suite.daemon.add('tick', ['--script', fixture('ok.sh'), '--cron', '*/1 * * * * *'])
    try {
      const [first, second] = await waitFor(() => {
        const seen = suite.daemon.eventsOf('run.started', 'tick')
        return seen.length >= 2 ? seen : undefined
      }, 'tick to run twice', 15_000)
      assert.ok(first !== undefined && second !== undefined)
      const firstExit = suite.daemon.eventsOf('run.exited', 'tick').find((e) => e.seq > first.seq)
      assert.ok(firstExit !== undefined && firstExit.seq < second.seq && firstExit.outcome === 'succeeded')
      const scheduled = suite.daemon.eventsOf('task.scheduled', 'tick').find((e) => e.seq > firstExit.seq && e.seq < second.seq)
      assert.ok(scheduled !== undefined, 'a task.scheduled event between the two runs')
      assert.equal(scheduled.reason, 'cron')
      assert.equal(ms(scheduled.at) % 1000, 0, `the next slot ${scheduled.at} is a whole second`)
      assert.ok(ms(scheduled.at) > ms(firstExit.time), 'the next slot is after the run ended')
      assert.ok(ms(second.time) >= ms(scheduled.at), 'the second run waits for its slot')
      assert.ok(ms(second.time) - ms(first.time) < 3000, `runs ${ms(second.time) - ms(first.time)} ms apart`)
    } finally {
      await remove('tick')
    }
  })
})
