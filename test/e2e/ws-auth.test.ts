// End to end: who may open the WebSocket API (header token, first-message auth, revoked tokens, Origin).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { closeAllClients, createToken, upgradeStatus, within, WsClient, type CreatedToken, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskView } from '../../src/core/view.js'

describe('WebSocket authentication', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let read: CreatedToken

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0', ...TOKEN_TASKS_AS_ROOT])
    read = await createToken(daemon, 'read', 'dashboard')
  })
  after(async () => {
    closeAllClients()
    await daemon.cleanup()
    await home.remove()
  })

  it('opens with a valid header token and answers requests', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token })
    try {
      const tasks = await client.result<TaskView[]>('tasks.list')
      assert.ok(Array.isArray(tasks))
    } finally {
      await client.close()
    }
  })

  it('refuses a wrong header token at the upgrade with HTTP 401', async () => {
    assert.equal(await upgradeStatus(daemon.port, { token: 'svt_nope_0000' }), 401)
    assert.equal(await upgradeStatus(daemon.port, { token: `${read.token}x` }), 401)
  })

  it('closes with 4401 a connection whose first message is not auth, answering nothing', async () => {
    const client = await WsClient.connect(daemon.port)
    client.send(JSON.stringify({ id: 1, method: 'tasks.list' }))
    const closed = await within(client.closed, 3000, 'the close')
    assert.equal(closed.code, 4401)
    assert.deepEqual(client.stray, [], 'no answer leaks to an unauthenticated client')
  })

  it('closes with 4401 a first auth message carrying a wrong token', async () => {
    const client = await WsClient.connect(daemon.port)
    client.send(JSON.stringify({ id: 1, method: 'auth', params: { token: 'wrong' } }))
    assert.equal((await within(client.closed, 3000, 'the close')).code, 4401)
  })

  it('closes with 4401 a connection whose first message is a binary frame (anything but auth)', async () => {
    const client = await WsClient.connect(daemon.port)
    client.send(Buffer.from(JSON.stringify({ id: 1, method: 'auth', params: { token: read.token } })))
    assert.equal((await within(client.closed, 3000, 'the close')).code, 4401)
  })

  it('closes with 4401 a silent connection after about 5 s', async () => {
    const client = await WsClient.connect(daemon.port)
    const opened = Date.now()
    const closed = await within(client.closed, 7000, 'the auth timeout')
    const waited = Date.now() - opened
    assert.equal(closed.code, 4401)
    assert.ok(waited >= 4500, `closed after ${waited} ms, before the 5 s allowed`)
  })

  it('authenticates with a first auth message, answering with the scope, then serves requests', async () => {
    const admin = await createToken(daemon, 'admin')
    const client = await WsClient.connect(daemon.port)
    try {
      const answer = await client.request('auth', { token: admin.token })
      assert.deepEqual(answer, { id: 1, result: { scope: 'admin' } })
      assert.ok(Array.isArray(await client.result('tasks.list')))
      // Authenticated: the 5 s timer no longer applies, and the scope is admin's.
      const added = await client.request('tasks.add', { name: 'first-message', script: fixture('ok.sh'), at: '+1h' })
      assert.equal(added.error, undefined, JSON.stringify(added.error))
    } finally {
      await client.close()
    }
    const readClient = await WsClient.connect(daemon.port)
    try {
      assert.deepEqual(await readClient.request('auth', { token: read.token }), { id: 1, result: { scope: 'read' } })
    } finally {
      await readClient.close()
    }
  })

  it('refuses a revoked token (401 at the upgrade, 4401 by first message) but keeps others', async () => {
    const doomed = await createToken(daemon, 'read', 'doomed')
    assert.equal(await upgradeStatus(daemon.port, { token: doomed.token }), 101)
    const revoked = await daemon.ctl(['token', 'revoke', doomed.id])
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.equal(await upgradeStatus(daemon.port, { token: doomed.token }), 401)
    const client = await WsClient.connect(daemon.port)
    client.send(JSON.stringify({ id: 1, method: 'auth', params: { token: doomed.token } }))
    assert.equal((await within(client.closed, 3000, 'the close')).code, 4401)
    assert.equal(await upgradeStatus(daemon.port, { token: read.token }), 101)
  })

  it('ends the open connections of a token when it is revoked, and only those', async () => {
    const doomed = await createToken(daemon, 'read', 'doomed-open')
    const viaHeader = await WsClient.connect(daemon.port, { token: doomed.token })
    const viaMessage = await WsClient.connect(daemon.port)
    viaMessage.send(JSON.stringify({ id: 'a', method: 'auth', params: { token: doomed.token } }))
    assert.deepEqual((await viaMessage.nextStray()).result, { scope: 'read' })
    const other = await WsClient.connect(daemon.port, { token: read.token })
    await viaHeader.result('tasks.list')
    assert.equal((await daemon.ctl(['token', 'revoke', doomed.id])).code, 0)
    assert.equal((await within(viaHeader.closed, 3000, 'the header connection to close')).code, 4401)
    assert.equal((await within(viaMessage.closed, 3000, 'the first-message connection to close')).code, 4401)
    assert.ok(Array.isArray(await other.result('tasks.list')), 'another token\'s connection keeps working')
    await other.close()
  })

  it('lists tokens without secrets and refuses to revoke an unknown id (exit 1)', async () => {
    assert.deepEqual(Object.keys(read).sort(), ['id', 'name', 'scope', 'token'])
    assert.deepEqual([read.scope, read.name], ['read', 'dashboard'])
    const tokens = await daemon.ctlJson<Record<string, unknown>[]>(['token', 'list'])
    const mine = tokens.find((t) => t['id'] === read.id)
    assert.deepEqual(Object.keys(mine ?? {}).sort(), ['created', 'id', 'name', 'scope'])
    assert.equal(mine?.['scope'], 'read')
    assert.equal(mine?.['name'], 'dashboard')
    assert.ok(!JSON.stringify(tokens).includes(read.token), 'token list shows no secret')
    const unknown = await daemon.ctl(['token', 'revoke', 'feedfeedfeed'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /feedfeedfeed/)
  })

  it('refuses a foreign Origin with HTTP 403, even with a valid token', async () => {
    assert.equal(await upgradeStatus(daemon.port, { token: read.token, origin: 'http://evil.example' }), 403)
    assert.equal(await upgradeStatus(daemon.port, { origin: 'http://evil.example' }), 403)
    assert.equal(await upgradeStatus(daemon.port, { token: read.token, origin: `http://127.0.0.1:${daemon.port + 1}` }), 403)
  })

  it('allows the daemon\'s own Origin', async () => {
    const client = await WsClient.connect(daemon.port, { token: read.token, origin: `http://127.0.0.1:${daemon.port}` })
    try {
      assert.ok(Array.isArray(await client.result('tasks.list')))
    } finally {
      await client.close()
    }
  })
})
