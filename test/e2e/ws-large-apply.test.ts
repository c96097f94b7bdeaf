// End to end: an ecosystem of 100,000 tasks applied over the control socket and over the WebSocket API in parts.
import assert from 'node:assert/strict'
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture, runCli } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { closeAllClients, createToken, within, wsUrl, WsClient, type CreatedToken, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

const COUNT = 100_000

describe('applying 100,000 tasks', { timeout: 300_000 }, () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let eco: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let admin: CreatedToken
  let read: CreatedToken

  before(async () => {
    home = await tempDir()
    eco = await tempDir()
    await mkdir(join(eco.path, 'bin'))
    await copyFile(fixture('ok.sh'), join(eco.path, 'bin', 'job.sh'))
    await chmod(join(eco.path, 'bin', 'job.sh'), 0o755)
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0', ...TOKEN_TASKS_AS_ROOT])
    admin = await createToken(daemon, 'admin')
    read = await createToken(daemon, 'read')
  })
  after(async () => {
    closeAllClients()
    await daemon.cleanup()
    await home.remove()
    await eco.remove()
  })

  /** An ecosystem file of COUNT tasks a day away (none runs), all of one priority. */
  async function ecosystem(name: string, priority: string): Promise<string> {
    const tasks = Array.from({ length: COUNT }, (_v, i) => ({ name: `t${i}`, script: 'bin/job.sh', at: '+1d', priority, args: [String(i)] }))
    const file = join(eco.path, name)
    await writeFile(file, JSON.stringify({ tasks }))
    return file
  }

  async function listAll(): Promise<TaskView[]> {
    const listed = await daemon.ctl(['list', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    return JSON.parse(listed.stdout) as TaskView[]
  }

  it('through the control socket: ctl apply adds them all, and list --json has them all', { timeout: 120_000 }, async () => {
    const file = await ecosystem('low.json', 'low')
    const applied = await daemon.ctl(['apply', file, '--json'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: COUNT, updated: 0, removed: 0 })
    const tasks = await listAll()
    assert.equal(tasks.length, COUNT)
    assert.equal(new Set(tasks.map((t) => t.name)).size, COUNT)
    const sample = tasks.find((t) => t.name === 't99999')
    assert.deepEqual([sample?.state, sample?.basePriority, sample?.args, sample?.script],
      ['scheduled', 'low', ['99999'], join(eco.path, 'bin', 'job.sh')])
  })

  it('through ctl --url --token ADMIN apply, in parts under the frame limit', { timeout: 120_000 }, async () => {
    const file = await ecosystem('high.json', 'high')
    const url = wsUrl(daemon.port)
    const applied = await runCli(['ctl', '--url', url, '--token', admin.token, 'apply', file, '--prune', '--json'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: 0, updated: COUNT, removed: 0 })
    const tasks = await listAll()
    assert.equal(tasks.length, COUNT)
    assert.ok(tasks.every((t) => t.basePriority === 'high' && t.state === 'scheduled'), 'every task was updated')
  })

  it('a read token cannot apply the big file over --url (exit 1, nothing changes)', { timeout: 120_000 }, async () => {
    const file = await ecosystem('medium.json', 'medium')
    const refused = await runCli(['ctl', '--url', wsUrl(daemon.port), '--token', read.token, 'apply', file])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^error: .*admin/)
    assert.doesNotMatch(refused.stderr, /Unhandled|\n\s+at /, 'a clean error, not a crash with a stack')
    const status = await daemon.ctlJson<TaskView>(['status', 't12345'])
    assert.equal(status.basePriority, 'high')
  })

  it('refuses a big file with a bad task in its first part and in its last, naming both (exit 1, nothing changes)', { timeout: 120_000 }, async () => {
    const tasks: Record<string, unknown>[] = Array.from({ length: COUNT }, (_v, i) => ({ name: `t${i}`, script: 'bin/job.sh', at: '+1d', priority: 'medium' }))
    Object.assign(tasks[0] as object, { priority: 'urgent' })
    Object.assign(tasks[COUNT - 1] as object, { at: 'someday' })
    const file = join(eco.path, 'bad-ends.json')
    await writeFile(file, JSON.stringify({ tasks }))
    const refused = await daemon.ctl(['apply', file])
    assert.equal(refused.code, 1, refused.stdout)
    assert.match(refused.stderr, /tasks\[0\] \(t0\)\.priority: expected high\|medium\|low/)
    assert.match(refused.stderr, new RegExp(`tasks\\[${COUNT - 1}\\] \\(t${COUNT - 1}\\)\\.at: expected`))
    for (const name of ['t0', 't12345', `t${COUNT - 1}`]) assert.equal((await daemon.ctlJson<TaskView>(['status', name])).basePriority, 'high')
  })

  it('keeps streaming to a subscriber that reads, and cuts off one that lets events pile up', { timeout: 120_000 }, async () => {
    const reader = await WsClient.connect(daemon.port, { token: read.token })
    const sleeper = await WsClient.connect(daemon.port, { token: read.token })
    const { lastSeq } = await reader.result<{ lastSeq: number }>('events.subscribe')
    await sleeper.result('events.subscribe')
    sleeper.ws.pause()
    const file = await ecosystem('low-again.json', 'low')
    const applied = await daemon.ctl(['apply', file, '--json'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: 0, updated: COUNT, removed: 0 })
    sleeper.ws.resume()
    const cut = await within(sleeper.closed, 30_000, 'the sleeping subscriber to be cut off')
    assert.notEqual(cut.code, 1000)
    assert.ok(sleeper.events.length < COUNT, `the sleeper got ${sleeper.events.length} events`)
    await waitFor(() => reader.events.length >= COUNT || !reader.isOpen, 'the reader to get every event', 60_000)
    assert.equal(reader.isOpen, true, `the reader was cut off after ${reader.events.length} events`)
    const seqs = reader.events.map((e: TaskEvent) => e.seq)
    assert.deepEqual([seqs.length, seqs[0], seqs.at(-1)], [COUNT, lastSeq + 1, lastSeq + COUNT])
    assert.ok((await reader.result<TaskView>('tasks.get', { name: 't0' })).basePriority === 'low')
    await reader.close()
  })
})
