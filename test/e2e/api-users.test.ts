// End to end: on a root daemon a token cannot run tasks as root (forbidden, nothing changes) unless the
// setting apiUsers lists root; the control socket can; user lookups leave the daemon answering.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { daemonForSuite, fixture, type DaemonProcess } from '../helpers/daemon-process.js'
import { closeAllClients, createToken, within, WsClient, type CreatedToken } from '../helpers/ws-client.js'
import type { TaskView } from '../../src/core/view.js'

const asRoot = process.getuid?.() === 0
const skip = asRoot ? false : 'the rule applies to a daemon running as root'
const later = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name, script: fixture('ok.sh'), at: '+1h', ...extra })

describe('who tasks given with a token run as (root daemon, default apiUsers)', { skip }, () => {
  const suite = daemonForSuite()
  let daemon: DaemonProcess
  let admin: CreatedToken
  let client: WsClient

  before(async () => {
    daemon = suite.daemon
    admin = await createToken(daemon, 'admin')
    client = await WsClient.connect(daemon.port, { token: admin.token })
  })
  after(() => closeAllClients())

  const names = async (): Promise<string[]> => (await client.result<TaskView[]>('tasks.list')).map((t) => t.name).sort()

  it('refuses a task without user or as root, naming the task and the field', async () => {
    for (const [task, got] of [
      [later('no-user'), /^user: expected a user other than root for a task given with a token, got none \(task "no-user" would run as root\)$/],
      [later('as-root', { user: 'root' }), /^user: .*got "root" \(task "as-root"\)$/],
    ] as const) {
      const answer = await client.request('tasks.add', task)
      assert.equal(answer.error?.code, 'forbidden', JSON.stringify(answer))
      assert.match(answer.error?.message ?? '', got)
    }
    assert.deepEqual(await names(), [])
  })

  it('adds a task that runs as another user', async () => {
    const added = await client.result<TaskView>('tasks.add', later('as-nobody', { user: 'nobody' }))
    assert.equal(added.user, 'nobody')
  })

  it('refuses an apply listing every task that would run as root, and applies none of it', async () => {
    const answer = await client.request('tasks.apply', {
      tasks: [later('fine', { user: 'nobody' }), later('bad-a'), later('bad-b', { user: 'root' })],
    })
    assert.equal(answer.error?.code, 'forbidden', JSON.stringify(answer))
    const lines = answer.error?.message.split('\n') ?? []
    assert.equal(lines.length, 2, answer.error?.message)
    assert.match(lines[0] ?? '', /^tasks\[1\] \(bad-a\)\.user: expected a user other than root/)
    assert.match(lines[1] ?? '', /^tasks\[2\] \(bad-b\)\.user: expected a user other than root/)
    assert.deepEqual(await names(), ['as-nobody'])
  })

  it('refuses the same in an apply sent in parts', async () => {
    assert.deepEqual(await client.result('tasks.apply', { tasks: [later('part-a', { user: 'nobody' })], more: true }), { staged: 1 })
    const answer = await client.request('tasks.apply', { tasks: [later('part-b')] })
    assert.equal(answer.error?.code, 'forbidden', JSON.stringify(answer))
    assert.match(answer.error?.message ?? '', /^tasks\[1\] \(part-b\)\.user: /)
    assert.deepEqual(await names(), ['as-nobody'])
  })

  it('lets the control socket add a task that runs as root, but not a token replay it', async () => {
    await daemon.add('rooted', ['--script', fixture('ok.sh'), '--at', '+1h'])
    assert.equal((await daemon.task('rooted')).user, null)
    const answer = await client.request('tasks.replay', { name: 'rooted' })
    assert.equal(answer.error?.code, 'forbidden', JSON.stringify(answer))
    assert.match(answer.error?.message ?? '', /^user: .*task "rooted" would run as root/)
    assert.equal(daemon.eventsOf('task.due', 'rooted').length, 0, 'the replay changed nothing')
  })

  it('looks users up without blocking: tasks.list answers while a 2,000-task apply is checked', { timeout: 60_000 }, async () => {
    const reader = await WsClient.connect(daemon.port, { token: admin.token })
    const tasks = Array.from({ length: 2000 }, (_, i) => later(`bulk-${i}`, { user: 'nobody' }))
    const applied = client.request('tasks.apply', { tasks })
    // Sent while the daemon reads and checks the apply: a lookup per task used to freeze it for seconds.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const asked = Date.now()
    await within(reader.result('tasks.list'), 30_000, 'tasks.list')
    const waited = Date.now() - asked
    assert.equal((await applied).error, undefined, JSON.stringify((await applied).error))
    assert.ok(waited < 1500, `tasks.list took ${waited} ms`)
    await reader.close()
  })
})

describe('who tasks given with a token run as (root daemon, apiUsers lists root)', { skip }, () => {
  const suite = daemonForSuite(['--api-users', 'root,nobody'])
  after(() => closeAllClients())

  it('adds tasks that run as root, and still refuses a user not listed', async () => {
    const admin = await createToken(suite.daemon, 'admin')
    const client = await WsClient.connect(suite.daemon.port, { token: admin.token })
    assert.equal((await client.result<TaskView>('tasks.add', later('no-user'))).user, null)
    assert.equal((await client.result<TaskView>('tasks.add', later('as-root', { user: 'root' }))).user, 'root')
    const refused = await client.request('tasks.add', later('as-daemon', { user: 'daemon' }))
    assert.equal(refused.error?.code, 'forbidden', JSON.stringify(refused))
    assert.match(refused.error?.message ?? '', /^user: expected a user the setting apiUsers allows for a task given with a token \(root, nobody\), got "daemon"/)
    await client.close()
  })
})
