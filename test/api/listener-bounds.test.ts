// The listener's bounds: the connection bound from the open-files limit and the setting, and the
// timeouts that close idle and slow connections.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'
import type { DaemonContext } from '../../src/api/context.js'
import { listenHttp } from '../../src/api/http-server.js'
import { connectionBound, FALLBACK_BOUND, softOpenFiles } from '../../src/api/listener-bounds.js'

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63704                63704                processes
Max open files            1024                 524288               files
`

describe('connection bound', () => {
  it('reads the soft open-files limit', () => {
    assert.equal(softOpenFiles(LIMITS), 1024)
    assert.equal(softOpenFiles(LIMITS.replace('1024 ', 'unlimited ')), null)
    assert.equal(softOpenFiles('nothing here'), null)
    assert.equal(typeof softOpenFiles(), 'number', 'this machine has /proc')
  })

  it('keeps a reserve of descriptors (at most half the limit), lowered further by the setting', () => {
    assert.equal(connectionBound(20_000, null), 20_000 - 1024)
    assert.equal(connectionBound(1024, null), 512)
    assert.equal(connectionBound(20_000, 20), 20)
    assert.equal(connectionBound(1024, 100_000), 512, 'the setting cannot raise it past the reserve')
    assert.equal(connectionBound(null, null), FALLBACK_BOUND)
  })
})

describe('HTTP listener timeouts', () => {
  const ctx = {
    supervisor: { state: { tasks: new Map(), ready: new Set(), running: new Map() }, degraded: null },
    settings: { maxConnections: 3 },
    tokens: { verify: () => null },
  } as unknown as Pick<DaemonContext, 'supervisor' | 'settings' | 'tokens'>
  const timeouts = { headersMs: 300, requestMs: 600, keepAliveMs: 300, idleMs: 2000, checkEveryMs: 100 }
  let server: Server | null = null
  const sockets: Socket[] = []
  after(async () => {
    for (const socket of sockets) socket.destroy()
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve))
  })

  /** Milliseconds from connecting (and sending `text`) until the listener closes the connection. */
  async function closedAfter(port: number, text = ''): Promise<number> {
    const socket = connect(port, '127.0.0.1')
    sockets.push(socket)
    socket.on('error', () => undefined)
    socket.resume()
    await once(socket, 'connect')
    const start = Date.now()
    if (text !== '') socket.write(text)
    await once(socket, 'close')
    return Date.now() - start
  }

  it('takes the bound from the maxConnections setting', async () => {
    server = await listenHttp(ctx, '127.0.0.1', 0, timeouts)
    assert.equal(server.maxConnections, 3)
  })

  it('closes a connection that never sends a request, or never finishes its headers', async () => {
    const { port } = server?.address() as AddressInfo
    const [silent, partial] = await Promise.all([closedAfter(port), closedAfter(port, 'GET /health HTTP/1.1\r\nHost: x\r\n')])
    for (const waited of [silent, partial]) assert.ok(waited >= 250 && waited < 1500, `closed after ${waited} ms`)
  })

  it('closes a kept-alive connection idle between requests', async () => {
    const { port } = server?.address() as AddressInfo
    const waited = await closedAfter(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
    assert.ok(waited >= 250 && waited < 1500, `closed after ${waited} ms`)
  })
})
