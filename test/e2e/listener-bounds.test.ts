// End to end: the HTTP/WebSocket listener holds at most `--max-connections` connections (WebSocket ones
// included); past that, new ones are closed at once, and the control socket and applies keep working.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { daemonForSuite, fixture, type DaemonProcess } from '../helpers/daemon-process.js'
import { waitFor } from '../helpers/wait.js'
import { closeAllClients, createToken, WsClient, type CreatedToken } from '../helpers/ws-client.js'

const BOUND = 20

/** Open a TCP connection that sends nothing; resolves once connected, and records when it closes. */
function idle(port: number, sockets: Socket[]): Promise<{ socket: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let isClosed = false
    const socket = connect(port, '127.0.0.1')
    sockets.push(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => (isClosed = true))
    socket.once('connect', () => resolve({ socket, closed: () => isClosed }))
    socket.once('error', reject)
  })
}

describe('the listener\'s connection bound', () => {
  const suite = daemonForSuite(['--max-connections', String(BOUND)])
  let daemon: DaemonProcess
  let read: CreatedToken
  const sockets: Socket[] = []

  before(async () => {
    daemon = suite.daemon
    read = await createToken(daemon, 'read')
  })
  after(() => {
    for (const socket of sockets) socket.destroy()
    closeAllClients()
  })

  it('closes idle connections past the bound at once, keeps those within it', async () => {
    const opened: Awaited<ReturnType<typeof idle>>[] = []
    for (let i = 0; i < BOUND * 2; i += 1) opened.push(await idle(daemon.port, sockets))
    await waitFor(() => opened.filter((c) => c.closed()).length >= BOUND, `${BOUND} connections closed`, 5000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(opened.filter((c) => c.closed()).length, BOUND, 'only the extra ones were closed')
    assert.ok(opened.slice(0, BOUND).every((c) => !c.closed()), 'the first ones stay open (until their header timeout)')
  })

  it('still answers on the control socket and applies while the listener is full', async () => {
    const list = await daemon.ctl(['list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    const file = join(suite.work, 'tasks.json')
    await writeFile(file, JSON.stringify({ tasks: Array.from({ length: 50 }, (_, i) => ({ name: `t${i}`, script: fixture('ok.sh'), at: '+1h' })) }))
    const applied = await daemon.ctl(['apply', file, '--json'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.deepEqual(JSON.parse(applied.stdout), { added: 50, updated: 0, removed: 0 })
    await assert.rejects(WsClient.connect(daemon.port, { token: read.token }), 'no WebSocket past the bound')
  })

  it('counts WebSocket connections: a full listener of them refuses the next, a freed slot takes one', async () => {
    for (const socket of sockets.splice(0)) socket.destroy()
    // The daemon sees the closes shortly after: wait until a WebSocket can connect again.
    const clients: WsClient[] = [await waitFor(() => WsClient.connect(daemon.port, { token: read.token }).catch(() => null), 'a free slot')]
    while (clients.length < BOUND) clients.push(await WsClient.connect(daemon.port, { token: read.token }))
    assert.equal((await clients[0]?.result<unknown[]>('tasks.list'))?.length, 50)
    const extra = await idle(daemon.port, sockets)
    await waitFor(() => extra.closed(), 'the connection past the bound closed', 5000)
    await clients.pop()?.close()
    await waitFor(() => WsClient.connect(daemon.port, { token: read.token }).catch(() => null), 'the freed slot taken')
  })
})
