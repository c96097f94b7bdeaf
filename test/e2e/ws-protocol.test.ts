// End to end: the WebSocket API under bad input: malformed requests, coded errors, oversize frames, floods.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { closeAllClients, createToken, within, WsClient, type CreatedToken, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskView } from '../../src/core/view.js'

describe('WebSocket protocol robustness', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let admin: CreatedToken
  let client: WsClient

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0', ...TOKEN_TASKS_AS_ROOT])
    admin = await createToken(daemon, 'admin')
    client = await WsClient.connect(daemon.port, { token: admin.token })
  })
  after(async () => {
    await client.close()
    closeAllClients()
    await daemon.cleanup()
    await home.remove()
  })

  it('answers invalid JSON with id null and code invalid, and keeps the connection', async () => {
    client.send('{"id":1,"method":')
    const answer = await client.nextStray()
    assert.equal(answer.id, null)
    assert.equal(answer.error?.code, 'invalid')
    assert.equal(typeof answer.error?.message, 'string')
    assert.ok(Array.isArray(await client.result('tasks.list')), 'the connection still serves requests')
  })

  it('answers a request without a method, or with a bad id, as invalid', async () => {
    client.send(JSON.stringify({ id: 'no-method' }))
    const noMethod = await client.nextStray()
    assert.equal(noMethod.id, 'no-method')
    assert.equal(noMethod.error?.code, 'invalid')
    assert.match(noMethod.error?.message ?? '', /method/)
    client.send(JSON.stringify({ id: { nested: true }, method: 'tasks.list' }))
    const badId = await client.nextStray()
    assert.equal(badId.id, null)
    assert.equal(badId.error?.code, 'invalid')
  })

  it('answers an unknown method as invalid, naming it', async () => {
    const answer = await client.request('tasks.explode', {})
    assert.equal(answer.error?.code, 'invalid')
    assert.match(answer.error?.message ?? '', /tasks\.explode/)
  })

  it('answers invalid params as invalid, naming the field', async () => {
    const noName = await client.request('tasks.get', {})
    assert.equal(noName.error?.code, 'invalid')
    assert.match(noName.error?.message ?? '', /^name: /)
    const urgent = await client.request('tasks.add', { name: 'urgent', script: fixture('ok.sh'), priority: 'urgent' })
    assert.equal(urgent.error?.code, 'invalid')
    assert.match(urgent.error?.message ?? '', /priority: expected high\|medium\|low, got "urgent"/)
    const extra = await client.request('tasks.add', { name: 'extra', script: fixture('ok.sh'), colour: 'red' })
    assert.equal(extra.error?.code, 'invalid')
    assert.match(extra.error?.message ?? '', /colour: unknown field/)
    const since = await client.request('history.list', { limit: 0 })
    assert.equal(since.error?.code, 'invalid')
    assert.match(since.error?.message ?? '', /^limit: /)
    for (const name of ['urgent', 'extra']) {
      assert.equal((await client.request('tasks.get', { name })).error?.code, 'not_found', `${name} was not added`)
    }
  })

  it('answers not_found for an unknown task, naming it', async () => {
    for (const method of ['tasks.get', 'tasks.run', 'tasks.stop', 'tasks.remove', 'tasks.replay']) {
      const answer = await client.request(method, { name: 'ghost' })
      assert.equal(answer.error?.code, 'not_found', `${method}: ${JSON.stringify(answer)}`)
      assert.match(answer.error?.message ?? '', /ghost/)
    }
  })

  it('answers conflict for a duplicate add and keeps the first definition', async () => {
    const first = await client.result<TaskView>('tasks.add', { name: 'twice', script: fixture('ok.sh'), at: '+1h', priority: 'low' })
    assert.equal(first.basePriority, 'low')
    const second = await client.request('tasks.add', { name: 'twice', script: fixture('ok.sh'), at: '+1h', priority: 'high' })
    assert.equal(second.error?.code, 'conflict')
    assert.match(second.error?.message ?? '', /twice/)
    assert.equal((await client.result<TaskView>('tasks.get', { name: 'twice' })).basePriority, 'low')
  })

  it('applies parts sent with more: true together, all or nothing', async () => {
    const ok = (name: string): Record<string, unknown> => ({ name, script: fixture('ok.sh'), at: '+1h' })
    assert.deepEqual(await client.result('tasks.apply', { tasks: [ok('part-a'), ok('part-b')], more: true }), { staged: 2 })
    assert.equal((await client.request('tasks.get', { name: 'part-a' })).error?.code, 'not_found', 'a staged part is only kept')
    const refused = await client.request('tasks.apply', { tasks: [{ name: 'part-bad', script: fixture('ok.sh'), priority: 'urgent' }] })
    assert.equal(refused.error?.code, 'invalid')
    assert.match(refused.error?.message ?? '', /tasks\[2\] \(part-bad\)\.priority/)
    assert.equal((await client.request('tasks.get', { name: 'part-a' })).error?.code, 'not_found', 'nothing of a refused apply is kept')
    assert.deepEqual(await client.result('tasks.apply', { tasks: [ok('part-c')], more: true }), { staged: 1 }, 'the refused parts were dropped')
    assert.deepEqual(await client.result('tasks.apply', { tasks: [ok('part-d')] }), { added: 2, updated: 0, removed: 0 })
    for (const name of ['part-c', 'part-d']) assert.equal((await client.result<TaskView>('tasks.get', { name })).state, 'scheduled')
  })

  it('takes parts sent without waiting; a refused part voids every part after it up to the last', async () => {
    const ok = (name: string): Record<string, unknown> => ({ name, script: fixture('ok.sh'), at: '+1h' })
    const answers = await Promise.all([
      client.request('tasks.apply', { tasks: [ok('piped-a')], more: true }),
      client.request('tasks.apply', { tasks: 'piped-b', more: true }),
      client.request('tasks.apply', { tasks: [ok('piped-c')], more: true }),
      client.request('tasks.apply', { tasks: [ok('piped-d')] }),
    ])
    assert.deepEqual(answers[0]?.result, { staged: 1 })
    assert.equal(answers[1]?.error?.code, 'invalid')
    assert.match(answers[1]?.error?.message ?? '', /^tasks: expected an array/)
    for (const answer of answers.slice(2)) {
      assert.equal(answer.error?.code, 'invalid')
      assert.match(answer.error?.message ?? '', /earlier part of this apply was refused/)
    }
    for (const name of ['piped-a', 'piped-c', 'piped-d']) assert.equal((await client.request('tasks.get', { name })).error?.code, 'not_found', name)

    const next = await Promise.all([
      client.request('tasks.apply', { tasks: [ok('piped-e'), { name: 'piped-bad', script: fixture('ok.sh'), at: 'someday' }], more: true }),
      client.request('tasks.apply', { tasks: [ok('piped-f'), { ...ok('piped-g'), retries: -1 }] }),
    ])
    assert.deepEqual(next[0]?.result, { staged: 2 }, 'a part with bad tasks is kept; its problems come with the last answer')
    assert.equal(next[1]?.error?.code, 'invalid')
    assert.match(next[1]?.error?.message ?? '', /tasks\[1\] \(piped-bad\)\.at: expected/)
    assert.match(next[1]?.error?.message ?? '', /tasks\[3\] \(piped-g\)\.retries: expected/)
    assert.deepEqual(await client.result('tasks.apply', { tasks: [ok('piped-h')] }), { added: 1, updated: 0, removed: 0 }, 'the next apply starts afresh')
  })

  it('closes a connection that sends an 8 MiB frame with 1009; the daemon serves new ones', async () => {
    const big = await WsClient.connect(daemon.port, { token: admin.token })
    big.send(JSON.stringify({ id: 1, method: 'tasks.list', params: { pad: 'x'.repeat(8 * 1024 * 1024) } }))
    const closed = await within(big.closed, 10_000, 'the oversize connection to close')
    assert.equal(closed.code, 1009)
    const fresh = await WsClient.connect(daemon.port, { token: admin.token })
    try {
      assert.ok(Array.isArray(await fresh.result('tasks.list')))
    } finally {
      await fresh.close()
    }
    assert.ok(Array.isArray(await client.result('tasks.list')), 'other connections were not disturbed')
  })

  it('accepts a frame just under 1 MiB', async () => {
    const answer = await client.request('tasks.get', { name: 'twice', pad: 'x'.repeat(1000 * 1000) })
    assert.equal(answer.error?.code, 'invalid', 'answered (pad is an unknown field), not cut off')
    assert.equal(client.isOpen, true)
  })

  it('cuts off a flooding client with 1008 while another keeps getting answers', async () => {
    const flooder = await WsClient.connect(daemon.port, { token: admin.token })
    const request = JSON.stringify({ id: 0, method: 'tasks.get', params: { name: 'ghost' } })
    for (let i = 0; i < 5000; i += 1) flooder.send(request)
    const meanwhile = client.result<TaskView[]>('tasks.list')
    const closed = await within(flooder.closed, 10_000, 'the flooder to be cut off')
    assert.equal(closed.code, 1008)
    assert.ok(flooder.stray.length < 5000, `the flooder got ${flooder.stray.length} answers, not all 5000`)
    assert.ok((await meanwhile).some((t) => t.name === 'twice'))
    for (let i = 0; i < 20; i += 1) assert.ok(Array.isArray(await client.result('tasks.list')))
    assert.equal(client.isOpen, true)
  })

  it('keeps a client that stays under the rate limit', async () => {
    const steady = await WsClient.connect(daemon.port, { token: admin.token })
    try {
      const answers = await Promise.all(Array.from({ length: 300 }, () => steady.request('tasks.get', { name: 'twice' })))
      assert.ok(answers.every((a) => (a.result as TaskView | undefined)?.name === 'twice'))
      assert.equal(steady.isOpen, true)
    } finally {
      await steady.close()
    }
  })
})
