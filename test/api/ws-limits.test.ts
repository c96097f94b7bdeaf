// The WebSocket bound on input received but not yet handled, in process: a request held open by the
// test (its store read does not return) makes every later frame wait, without depending on timing.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type { DaemonContext } from '../../src/api/context.js'
import { TokenRegistry } from '../../src/api/tokens.js'
import { attachWebSocket, WS_LIMITS, type WebSocketApi } from '../../src/api/ws-server.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { HistoryQuery } from '../../src/store/store.js'
import { MemoryStore } from '../helpers/memory-store.js'
import { within, WsClient } from '../helpers/ws-client.js'

const MAX_PENDING = 1024 * 1024

/** A store whose history reads wait until `release` is called. */
class GatedStore extends MemoryStore {
  private gate: Promise<void> = Promise.resolve()
  release: () => void = () => undefined
  reads = 0

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve))
  }

  override async history(query: HistoryQuery): Promise<TaskEvent[]> {
    this.reads += 1
    await this.gate
    return super.history(query)
  }
}

describe('WebSocket input bound', () => {
  const store = new GatedStore()
  let http: Server
  let api: WebSocketApi
  let port: number
  let token: string

  before(async () => {
    const tokens = await TokenRegistry.load(store)
    token = (await tokens.create('read', 'test', Date.now())).token
    // Only what the history method and the transport use of a daemon.
    const ctx = { store, tokens } as unknown as DaemonContext
    http = createServer()
    api = attachWebSocket(ctx, http, { ...WS_LIMITS, maxPending: MAX_PENDING })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    port = (http.address() as AddressInfo).port
  })
  after(async () => {
    store.release()
    await api.close()
    await new Promise((resolve) => http.close(resolve))
  })

  it('is 64 MiB by default: eight apply parts of 512 KB in flight fit many times over', () => {
    assert.equal(WS_LIMITS.maxPending, 64 * 1024 * 1024)
  })

  it('keeps frames waiting under the bound, then answers them all in order', async () => {
    const client = await WsClient.connect(port, { token })
    try {
      store.hold()
      const held = client.request('history.list', {})
      await waitUntil(() => store.reads === 1)
      const behind = client.request('history.list', { limit: 1, pad: 'x'.repeat(MAX_PENDING / 2) })
      store.release()
      assert.deepEqual((await held).result, [])
      assert.equal((await behind).error?.code, 'invalid', 'answered (pad is an unknown field), not cut off')
      assert.equal(client.isOpen, true)
    } finally {
      await client.close()
    }
  })

  it('cuts off a connection whose waiting input passes the bound (1008); another is served meanwhile', async () => {
    const flooder = await WsClient.connect(port, { token })
    const other = await WsClient.connect(port, { token })
    try {
      store.hold()
      void flooder.request('history.list', {}).catch(() => undefined)
      await waitUntil(() => store.reads === 1)
      const junk = 'x'.repeat(400 * 1024)
      for (let i = 0; i < 3; i += 1) flooder.send(junk)
      const closed = await within(flooder.closed, 5000, 'the flooding connection to close')
      assert.equal(closed.code, 1008)
      assert.equal(closed.reason, 'too much input waiting to be handled')
      store.release()
      assert.deepEqual(await other.result('history.list', {}), [], 'the other connection is served')
    } finally {
      store.release()
      await flooder.close()
      await other.close()
    }
  })
})

async function waitUntil(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((resolve) => setTimeout(resolve, 5))
}
