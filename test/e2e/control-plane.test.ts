// End to end: the ctl control plane: ecosystem apply (update, prune, all-or-nothing), errors, replay.
import assert from 'node:assert/strict'
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { closeAllClients, createToken, WsClient, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

type Dir = Awaited<ReturnType<typeof tempDir>>
const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']

describe('ctl apply', () => {
  let home: Dir
  let eco: Dir
  let elsewhere: Dir
  let daemon: DaemonProcess
  let file: string

  before(async () => {
    home = await tempDir()
    eco = await tempDir()
    elsewhere = await tempDir()
    await mkdir(join(eco.path, 'bin'))
    await copyFile(fixture('ok.sh'), join(eco.path, 'bin', 'job.sh'))
    await chmod(join(eco.path, 'bin', 'job.sh'), 0o755)
    file = join(eco.path, 'ecosystem.json')
    daemon = await DaemonProcess.start(home.path, FLAGS)
  })
  after(async () => {
    await daemon.cleanup()
    for (const dir of [home, eco, elsewhere]) await dir.remove()
  })

  const write = (tasks: Record<string, unknown>[]): Promise<void> => writeFile(file, JSON.stringify({ tasks }))
  /** `ctl apply` from another folder, so only the file's folder can make `bin/job.sh` resolve. */
  const apply = (...extra: string[]): ReturnType<DaemonProcess['ctl']> => daemon.ctl(['apply', file, ...extra], elsewhere.path)
  const lastSeq = async (): Promise<number> => (await daemon.ctlJson<TaskEvent[]>(['history', '--limit', '1'])).at(-1)?.seq ?? 0
  const eventsAfter = async (seq: number): Promise<[string, string][]> =>
    (await daemon.ctlJson<TaskEvent[]>(['history'])).filter((e) => e.seq > seq).map((e) => [e.type, e.task])
  const names = async (): Promise<string[]> => (await daemon.ctlJson<TaskView[]>(['list'])).map((t) => t.name).sort()

  const a = { name: 'a', script: 'bin/job.sh', args: ['1'], at: '+1h' }
  const b = { name: 'b', script: 'bin/job.sh', at: '+1h', priority: 'low' }
  const c = { name: 'c', script: 'bin/job.sh' }

  it('adds every task, resolving relative scripts against the file\'s folder', async () => {
    await write([a, b, c])
    const applied = await apply()
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(applied.stdout, /3 added, 0 updated, 0 removed/)
    assert.deepEqual(await names(), ['a', 'b', 'c'])
    const taskA = await daemon.task('a')
    assert.equal(taskA.script, join(eco.path, 'bin', 'job.sh'))
    assert.deepEqual(taskA.args, ['1'])
    assert.equal(taskA.state, 'scheduled')
    assert.equal((await daemon.task('b')).basePriority, 'low')
    await daemon.waitForType('task.succeeded', 'c')
  })

  it('changes nothing when the same file is applied again', async () => {
    const before = await lastSeq()
    const applied = await apply('--json')
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: 0, updated: 0, removed: 0 })
    assert.equal(await lastSeq(), before, 'no new event')
    assert.equal((await daemon.task('c')).attempts, 1, 'the finished task did not run again')
  })

  it('updates a changed task, and only it', async () => {
    const before = await lastSeq()
    await write([a, { ...b, priority: 'high' }, c])
    const applied = await apply('--json')
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: 0, updated: 1, removed: 0 })
    assert.deepEqual(await eventsAfter(before), [['task.updated', 'b']])
    assert.equal((await daemon.task('b')).basePriority, 'high')
  })

  it('leaves everything as it was when one task of the file is invalid, naming task and field', async () => {
    const before = await lastSeq()
    await write([{ ...a, args: ['2'] }, { name: 'bad', script: 'bin/job.sh', priority: 'urgent' }, { name: 'd', script: 'bin/job.sh' }])
    const refused = await apply('--prune')
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /tasks\[1\] \(bad\)\.priority: expected high\|medium\|low, got "urgent"/)
    await write([{ name: 'e', script: 'bin/job.sh' }, { name: 'bad2', script: 'bin/missing.sh' }, { ...b, priority: 'low' }])
    const missing = await apply('--prune')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /tasks\[1\] \(bad2\)\.script: /)
    assert.doesNotMatch(missing.stderr, /tasks\[0\]|tasks\[2\]/, 'only the bad task is named')
    assert.equal(await lastSeq(), before, 'no new event')
    assert.deepEqual(await names(), ['a', 'b', 'c'])
    assert.deepEqual((await daemon.task('a')).args, ['1'])
    assert.equal((await daemon.task('b')).basePriority, 'high')
  })

  it('--prune removes the tasks that are not in the file', async () => {
    const added = await daemon.ctl(['add', 'manual', '--script', fixture('ok.sh'), '--at', '+1h'])
    assert.equal(added.code, 0, added.stderr)
    const before = await lastSeq()
    await write([a, c])
    const applied = await apply('--prune', '--json')
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: 0, updated: 0, removed: 2 })
    assert.deepEqual((await eventsAfter(before)).sort(), [['task.removed', 'b'], ['task.removed', 'manual']])
    assert.deepEqual(await names(), ['a', 'c'])
  })
})

describe('ctl errors and replay', () => {
  let home: Dir
  let daemon: DaemonProcess

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path, [...FLAGS, ...TOKEN_TASKS_AS_ROOT])
  })
  after(async () => {
    closeAllClients()
    await daemon.cleanup()
    await home.remove()
  })

  const add = async (name: string, ...args: string[]): Promise<void> => {
    const added = await daemon.ctl(['add', name, ...args])
    assert.equal(added.code, 0, added.stderr)
  }

  it('groups the failures of a task into one row with cause, count and first/last seen', async () => {
    await add('failing', '--script', fixture('fail.sh'), '--retries', '2', '--', '7')
    await daemon.waitForType('task.failed', 'failing')
    const exits = daemon.eventsOf('run.exited', 'failing')
    assert.equal(exits.length, 3)
    const rows = await daemon.ctlJson<{ task: string; cause: string; count: number; firstSeen: string; lastSeen: string }[]>(['errors'])
    const mine = rows.filter((r) => r.task === 'failing')
    assert.equal(mine.length, 1, JSON.stringify(rows))
    const [row] = mine
    assert.equal(row?.cause, 'exit 7')
    assert.equal(row?.count, 3)
    assert.ok((row?.firstSeen ?? '') <= (row?.lastSeen ?? ''))
    assert.equal(row?.firstSeen, exits[0]?.time)
    assert.equal(row?.lastSeen, exits[2]?.time)
    const table = await daemon.ctl(['errors'])
    assert.match(table.stdout, /failing\s+exit 7\s+3/)
  })

  it('replays a finished task: it runs again', async () => {
    await add('again', '--script', fixture('ok.sh'))
    await daemon.waitForType('task.succeeded', 'again')
    const replayed = await daemon.ctl(['replay', 'again'])
    assert.equal(replayed.code, 0, replayed.stderr)
    await waitFor(() => daemon.eventsOf('task.succeeded', 'again').length === 2, 'again to succeed a second time')
    assert.equal(daemon.eventsOf('run.started', 'again').length, 2)
  })

  it('replays a removed task with its recorded definition', async () => {
    await add('gone', '--script', fixture('ok.sh'), '--priority', 'low', '--', 'p', 'q')
    await daemon.waitForType('task.succeeded', 'gone')
    assert.equal((await daemon.ctl(['remove', 'gone'])).code, 0)
    const removed = await daemon.waitForType('task.removed', 'gone')
    const replayed = await daemon.ctl(['replay', 'gone'])
    assert.equal(replayed.code, 0, replayed.stderr)
    const back = await daemon.waitForType('task.added', 'gone', (e) => e.seq > removed.seq)
    assert.equal(back.spec.script, fixture('ok.sh'))
    assert.deepEqual(back.spec.args, ['p', 'q'])
    assert.equal(back.spec.priority, 'low')
    await daemon.waitForType('task.succeeded', 'gone', (e) => e.seq > back.seq)
    const task = await daemon.task('gone')
    assert.deepEqual([task.state, task.args, task.basePriority], ['succeeded', ['p', 'q'], 'low'])
  })

  it('refuses to replay a running task (conflict, exit 1) and an unknown one (exit 1)', async () => {
    await add('busy', '--script', fixture('sleep.sh'), '--', '30')
    const started = await daemon.waitForType('run.started', 'busy')
    const refused = await daemon.ctl(['replay', 'busy'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /busy/)
    const admin = await createToken(daemon, 'admin')
    const client = await WsClient.connect(daemon.port, { token: admin.token })
    try {
      assert.equal((await client.request('tasks.replay', { name: 'busy' })).error?.code, 'conflict')
    } finally {
      await client.close()
    }
    const task = await daemon.task('busy')
    assert.deepEqual([task.state, task.pid], ['running', started.pid])
    assert.equal(daemon.eventsOf('run.started', 'busy').length, 1)
    const unknown = await daemon.ctl(['replay', 'nobody'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /nobody/)
  })
})
