// End to end: workflows with real processes. A backup -> report -> publish chain from an ecosystem
// file runs in order; a failing prerequisite skips the chain; onFailure makes an alert task due with the
// trigger in its environment; status shows the graph; list filters by state; bad graphs are refused.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { waitFor } from '../helpers/wait.js'

describe('workflows', () => {
  const suite = daemonForSuite(['--max-concurrent', '4', '--min-free-memory', '0'])
  const apply = async (name: string, tasks: object[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const file = join(suite.work, `${name}.json`)
    await writeFile(file, JSON.stringify({ tasks }))
    return suite.daemon.ctl(['apply', file])
  }

  it('a chain runs in order, each after the one before succeeded', { timeout: 30_000 }, async () => {
    const { daemon, work } = suite
    const order = join(work, 'order.txt')
    const applied = await apply('chain', [
      { name: 'publish', script: fixture('record.sh'), args: [order], after: ['report'] },
      { name: 'report', script: fixture('record.sh'), args: [order], after: ['backup'] },
      { name: 'backup', script: fixture('sleep.sh'), args: ['1'] },
    ])
    assert.equal(applied.code, 0, applied.stderr)
    await daemon.waitForType('task.awaiting', 'report')
    assert.equal((await daemon.task('report')).waitingReason, 'after "backup"')
    await daemon.waitForType('task.succeeded', 'publish')
    assert.equal(await readFile(order, 'utf8'), 'report\npublish\n')
    const backupDone = daemon.eventsOf('task.succeeded', 'backup')[0]
    const reportStart = daemon.eventsOf('run.started', 'report')[0]
    assert.ok(backupDone !== undefined && reportStart !== undefined && backupDone.seq < reportStart.seq)
    const status = await daemon.ctl(['status', 'report'])
    assert.match(status.stdout, /^after:\s+backup$/m)
    assert.match(status.stdout, /^before:\s+publish$/m)
  })

  it('a prerequisite that fails for good skips the chain; onFailure gets the trigger in its environment', { timeout: 30_000 }, async () => {
    const { daemon, work } = suite
    const seen = join(work, 'trigger.txt')
    const applied = await apply('failing', [
      { name: 'alert', script: fixture('trigger-env.sh'), args: [seen], at: 'manual' },
      { name: 'fetch', script: fixture('fail.sh'), args: ['4'], retries: 0, onFailure: ['alert'] },
      { name: 'load', script: fixture('ok.sh'), after: ['fetch'] },
      { name: 'notify', script: fixture('ok.sh'), after: ['load'] },
    ])
    assert.equal(applied.code, 0, applied.stderr)
    const skipped = await daemon.waitForType('task.skipped', 'notify')
    assert.deepEqual([skipped.after, skipped.reason], ['load', 'skipped'])
    const load = daemon.eventsOf('task.skipped', 'load')[0]
    assert.deepEqual([load?.after, load?.reason], ['fetch', 'failed'])
    const triggered = await daemon.waitForType('task.triggered', 'alert')
    await daemon.waitForType('task.succeeded', 'alert')
    assert.equal(await readFile(seen, 'utf8'), `task=fetch outcome=failed code=4 seq=${triggered.seq}\n`)
    assert.equal(daemon.eventsOf('run.started', 'load').length, 0)
    const skippedList = await daemon.ctlJson<{ name: string }[]>(['list', '--state', 'skipped'])
    assert.deepEqual(skippedList.map((t) => t.name).sort(), ['load', 'notify'])
    const badState = await daemon.ctl(['list', '--state', 'done'])
    assert.equal(badState.code, 1)
    assert.match(badState.stderr, /--state: expected scheduled\|/)
  })

  it('refuses unknown names and cycles, naming them, and changes nothing', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    const unknown = await daemon.ctl(['add', 'orphan', '--script', fixture('ok.sh'), '--after', 'nobody'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /orphan\.after: no task named "nobody"/)
    const cycle = await apply('cycle', [
      { name: 'ping', script: fixture('ok.sh'), after: ['pong'], at: '+1h' },
      { name: 'pong', script: fixture('ok.sh'), after: ['ping'], at: '+1h' },
    ])
    assert.equal(cycle.code, 1)
    assert.match(cycle.stderr, /after: "ping" -> "pong" -> "ping" is a cycle/)
    const names = (await daemon.ctlJson<{ name: string }[]>(['list'])).map((t) => t.name)
    assert.ok(!names.includes('ping') && !names.includes('orphan'))
    await waitFor(async () => (await daemon.ctl(['status', 'ping'])).code === 1, 'ping absent')
  })
})
