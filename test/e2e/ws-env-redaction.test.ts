// End to end: a read token never sees env values (history, event replay, live events, task views);
// admin tokens and the control socket still do.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { daemonForSuite, fixture, type DaemonProcess } from '../helpers/daemon-process.js'
import { closeAllClients, createToken, WsClient, type CreatedToken } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'

const SECRET = 's3cret-value'
const HIDDEN = '[hidden]'

/** The env of every event of `events` that carries a definition. */
const envs = (events: TaskEvent[]): Record<string, string>[] =>
  events.flatMap((e) => (e.type === 'task.added' || e.type === 'task.updated' ? [e.spec.env] : []))

describe('env values and read tokens', () => {
  const suite = daemonForSuite()
  let daemon: DaemonProcess
  let read: CreatedToken
  let admin: CreatedToken

  before(async () => {
    daemon = suite.daemon
    read = await createToken(daemon, 'read')
    admin = await createToken(daemon, 'admin')
    await daemon.add('keyed', ['--script', fixture('ok.sh'), '--at', '+1h', '--env', `API_KEY=${SECRET}`, '--env', 'MODE=a'])
    // An update: its task.updated event carries the definition too.
    const file = join(suite.work, 'keyed.json')
    await writeFile(file, JSON.stringify({ tasks: [{ name: 'keyed', script: fixture('ok.sh'), at: '+2h', env: { API_KEY: SECRET, MODE: 'b' } }] }))
    const applied = await daemon.ctl(['apply', file])
    assert.equal(applied.code, 0, applied.stderr)
  })
  after(() => closeAllClients())

  it('hides them from history.list, keeping the names', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token })
    const history = await client.result<TaskEvent[]>('history.list', { task: 'keyed' })
    assert.deepEqual(envs(history), [{ API_KEY: HIDDEN, MODE: HIDDEN }, { API_KEY: HIDDEN, MODE: HIDDEN }])
    assert.doesNotMatch(JSON.stringify(await client.result('history.list')), new RegExp(SECRET))
    await client.close()
  })

  it('hides them from the events a subscription replays and from live ones', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token })
    await client.result('events.subscribe', { since: 0 })
    await client.waitForEvent((e) => e.type === 'task.updated' && e.task === 'keyed', 'the replayed update')
    await daemon.add('live', ['--script', fixture('ok.sh'), '--at', '+1h', '--env', `TOKEN=${SECRET}`])
    await client.waitForEvent((e) => e.type === 'task.added' && e.task === 'live', 'the live add')
    assert.deepEqual(envs(client.events), [{ API_KEY: HIDDEN, MODE: HIDDEN }, { API_KEY: HIDDEN, MODE: HIDDEN }, { TOKEN: HIDDEN }])
    assert.doesNotMatch(JSON.stringify(client.events), new RegExp(SECRET))
    await client.close()
  })

  it('shows no env in tasks.list, tasks.get or errors.list', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token })
    for (const [method, params] of [['tasks.list', undefined], ['tasks.get', { name: 'keyed' }], ['errors.list', undefined]] as const) {
      assert.doesNotMatch(JSON.stringify(await client.result(method, params)), new RegExp(SECRET), method)
    }
    await client.close()
  })

  it('shows them to an admin token and on the control socket', async () => {
    const client = await WsClient.connect(daemon.port, { token: admin.token })
    const history = await client.result<TaskEvent[]>('history.list', { task: 'keyed' })
    assert.deepEqual(envs(history).map((env) => env['API_KEY']), [SECRET, SECRET])
    await client.result('events.subscribe', { since: 0 })
    await client.waitForEvent((e) => e.type === 'task.added' && e.task === 'live', 'the replayed add')
    assert.deepEqual(envs(client.events).at(-1), { TOKEN: SECRET })
    await client.close()
    const owner = await daemon.ctlJson<TaskEvent[]>(['history', 'keyed'])
    assert.deepEqual(envs(owner).map((env) => env['MODE']), ['a', 'b'])
  })
})
