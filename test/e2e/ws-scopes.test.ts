// End to end: what read and admin tokens may do over the WebSocket API, and that refusals change nothing.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { closeAllClients, createToken, upgradeStatus, WsClient, type CreatedToken, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

describe('WebSocket scopes', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let read: CreatedToken
  let admin: CreatedToken
  let longPid: number

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0', ...TOKEN_TASKS_AS_ROOT])
    read = await createToken(daemon, 'read')
    admin = await createToken(daemon, 'admin')
    for (const args of [
      ['add', 'sched', '--script', fixture('ok.sh'), '--at', '+1h'],
      ['add', 'done', '--script', fixture('ok.sh')],
      ['add', 'long', '--script', fixture('sleep.sh'), '--', '30'],
    ]) {
      const added = await daemon.ctl(args)
      assert.equal(added.code, 0, added.stderr)
    }
    await daemon.waitForType('task.succeeded', 'done')
    longPid = (await daemon.waitForType('run.started', 'long')).pid
  })
  after(async () => {
    closeAllClients()
    await daemon.cleanup()
    await home.remove()
  })

  const lastSeq = async (client: WsClient): Promise<number> =>
    (await client.result<TaskEvent[]>('history.list', { limit: 1 })).at(-1)?.seq ?? 0

  it('lets a read token list, get, read history and errors, and subscribe', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token })
    try {
      const names = (await client.result<TaskView[]>('tasks.list')).map((t) => t.name).sort()
      assert.deepEqual(names, ['done', 'long', 'sched'])
      const sched = await client.result<TaskView>('tasks.get', { name: 'sched' })
      assert.equal(sched.state, 'scheduled')
      const history = await client.result<TaskEvent[]>('history.list', { task: 'done' })
      assert.deepEqual(history.map((e) => e.type), ['task.added', 'task.due', 'run.started', 'run.exited', 'task.succeeded'])
      assert.ok(Array.isArray(await client.result('errors.list')))
      const subscribed = await client.result<{ subscribed: boolean; lastSeq: number }>('events.subscribe')
      assert.equal(subscribed.subscribed, true)
      assert.equal(subscribed.lastSeq, await lastSeq(client))
    } finally {
      await client.close()
    }
  })

  it('answers forbidden to every change asked with a read token, and changes nothing', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token })
    try {
      await client.result('events.subscribe')
      const before = await lastSeq(client)
      const task = { name: 'sneaky', script: fixture('ok.sh') }
      const attempts: [string, unknown][] = [
        ['tasks.add', task],
        ['tasks.run', { name: 'sched' }],
        ['tasks.stop', { name: 'long' }],
        ['tasks.remove', { name: 'sched' }],
        ['tasks.apply', { tasks: [task], prune: true }],
        ['tasks.apply', { tasks: [task], more: true }],
        ['tasks.replay', { name: 'done' }],
      ]
      for (const [method, params] of attempts) {
        const answer = await client.request(method, params)
        assert.equal(answer.error?.code, 'forbidden', `${method}: ${JSON.stringify(answer)}`)
        assert.match(answer.error?.message ?? '', /admin/)
      }
      assert.equal(await lastSeq(client), before, 'no event was recorded')
      assert.deepEqual(client.events, [], 'no event was pushed')
      const tasks = await client.result<TaskView[]>('tasks.list')
      assert.deepEqual(tasks.map((t) => [t.name, t.state]).sort(), [['done', 'succeeded'], ['long', 'running'], ['sched', 'scheduled']])
      assert.equal(tasks.find((t) => t.name === 'long')?.pid, longPid)
    } finally {
      await client.close()
    }
  })

  it('lets an admin token add, run, stop and remove tasks', async () => {
    const client = await WsClient.connect(daemon.port, { token: admin.token })
    try {
      const added = await client.result<TaskView>('tasks.add', { name: 'adm', script: fixture('ok.sh'), at: '+1h', args: ['x'] })
      assert.equal(added.state, 'scheduled')
      assert.deepEqual(added.args, ['x'])
      await client.result('tasks.run', { name: 'adm' })
      await daemon.waitForType('task.succeeded', 'adm')
      assert.equal((await client.result<TaskView>('tasks.get', { name: 'adm' })).lastExitCode, 0)
      await client.result('tasks.stop', { name: 'long' })
      const exited = await daemon.waitForType('run.exited', 'long')
      assert.equal(exited.outcome, 'stopped')
      await daemon.waitForType('task.stopped', 'long')
      assert.deepEqual(await client.result('tasks.remove', { name: 'adm' }), { removed: 'adm' })
      assert.equal((await client.request('tasks.get', { name: 'adm' })).error?.code, 'not_found')
    } finally {
      await client.close()
    }
  })

  it('forbids tokens.* over WebSocket even to admin, leaving the tokens as they were', async () => {
    const tokensBefore = await daemon.ctlJson<{ id: string }[]>(['token', 'list'])
    for (const token of [admin, read]) {
      const client = await WsClient.connect(daemon.port, { token: token.token })
      try {
        for (const [method, params] of [
          ['tokens.create', { scope: 'admin' }],
          ['tokens.list', {}],
          ['tokens.revoke', { id: read.id }],
        ] as const) {
          const answer = await client.request(method, params)
          assert.equal(answer.error?.code, 'forbidden', `${token.scope} ${method}: ${JSON.stringify(answer)}`)
          assert.equal(answer.result, undefined)
        }
      } finally {
        await client.close()
      }
    }
    assert.deepEqual(await daemon.ctlJson<{ id: string }[]>(['token', 'list']), tokensBefore)
    assert.equal(await upgradeStatus(daemon.port, { token: read.token }), 101, 'the read token still works')
  })
})
