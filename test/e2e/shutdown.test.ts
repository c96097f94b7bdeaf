// End to end: `ctl history` as text, and stopping the daemon with `ctl shutdown` (its user only).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'
import { createToken, WsClient } from '../helpers/ws-client.js'

describe('ctl history and ctl shutdown', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let restarted: DaemonProcess | null = null

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path)
  })
  after(async () => {
    await daemon.cleanup()
    await restarted?.cleanup()
    await home.remove()
  })

  it('prints the history one line an event: seq, time, type, task, then the event\'s own fields', async () => {
    await daemon.add('hello', ['--script', fixture('ok.sh')])
    const succeeded = await daemon.waitForType('task.succeeded', 'hello')
    const started = await daemon.waitForType('run.started', 'hello')
    const text = await daemon.ctl(['history', 'hello'])
    assert.equal(text.code, 0, text.stderr)
    const lines = text.stdout.trimEnd().split('\n')
    assert.deepEqual(lines.map((l) => l.trim().split(/\s{2,}/)[2]), ['task.added', 'task.due', 'run.started', 'run.exited', 'task.succeeded'])
    assert.ok(lines.every((l) => l.trim().split(/\s{2,}/)[3] === 'hello'), text.stdout)
    const startedLine = lines[2] ?? ''
    assert.equal(Number(startedLine.trim().split(/\s+/)[0]), started.seq, 'the line starts with its seq')
    assert.match(startedLine, new RegExp(`pid=${started.pid}(\\s|$)`))
    assert.doesNotMatch(lines[0] ?? '', /spec=/, 'the definition is left out of the line')
    const last = await daemon.ctl(['history', 'hello', '--limit', '1'])
    assert.equal(last.code, 0, last.stderr)
    assert.equal(Number(last.stdout.trim().split(/\s+/)[0]), succeeded.seq, '--limit 1: the latest event alone')
    assert.equal(last.stdout.trimEnd().split('\n').length, 1)
    assert.equal((await daemon.ctl(['history', 'nobody-by-this-name'])).stdout.trim(), 'no events')
  })

  it('refuses daemon.shutdown to an admin token: only the daemon\'s own user may stop it', async () => {
    const admin = await createToken(daemon, 'admin')
    const client = await WsClient.connect(daemon.port, { token: admin.token })
    try {
      const answer = await client.request('daemon.shutdown', {})
      assert.equal(answer.error?.code, 'forbidden', JSON.stringify(answer))
      assert.ok(Array.isArray(await client.result('tasks.list')), 'the daemon still answers')
    } finally {
      await client.close()
    }
    assert.equal(daemon.child.exitCode, null, 'the daemon still runs')
  })

  it('stops the daemon gracefully: answers, ends the runs as interrupted, exits 0; the next start runs them again', { timeout: 60_000 }, async () => {
    await daemon.add('long', ['--script', fixture('sleep.sh'), '--', '30'])
    const started = await daemon.waitForType('run.started', 'long')
    const exited = new Promise<number | null>((resolve) => daemon.child.once('exit', (code) => resolve(code)))
    const stop = await daemon.ctl(['shutdown'])
    assert.equal(stop.code, 0, stop.stderr)
    assert.equal(stop.stdout.trim(), 'daemon stopped')
    assert.equal(daemon.child.exitCode ?? (await exited), 0, 'the daemon exits with 0')
    await waitFor(() => !alive(started.pid), 'the run to be gone')

    restarted = await DaemonProcess.start(home.path)
    const interrupted = await restarted.waitForType('run.exited', 'long', (e) => e.pid === started.pid)
    assert.equal(interrupted.outcome, 'interrupted')
    const again = await restarted.waitForType('run.started', 'long', (e) => e.seq > interrupted.seq)
    assert.notEqual(again.pid, started.pid)
  })
})
