// Tokens shared by the nodes of a cluster: each node's registry reads the store again; a token made on
// one node opens the others, a token revoked on one is refused by all (its connections told), and a
// read racing a local create or revoke neither loses the new token nor brings the revoked one back.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TokenRegistry } from '../../src/api/tokens.js'
import type { TokenRecord } from '../../src/store/store.js'
import { MemoryStore } from '../helpers/memory-store.js'

/** A store whose token read waits until released: a refresh held in the middle of its read. */
class SlowTokens extends MemoryStore {
  hold = false
  release: (() => void) | null = null
  override async tokens(): Promise<TokenRecord[]> {
    const read = await super.tokens()
    if (this.hold) await new Promise<void>((resolve) => (this.release = resolve))
    return read
  }
}

describe('tokens across nodes (refresh)', () => {
  it('a token made on one node works on another after a refresh; revoked, it is refused there and its connections told', async () => {
    const store = new MemoryStore()
    const a = await TokenRegistry.load(store)
    const b = await TokenRegistry.load(store)
    const made = await a.create('read', 'dash', 0)
    assert.equal(b.verify(made.token), null)
    await b.refresh()
    assert.equal(b.verify(made.token)?.scope, 'read')
    const told: string[] = []
    b.onRevoke((id) => told.push(id))
    await a.revoke(made.id)
    await b.refresh()
    assert.equal(b.verify(made.token), null)
    assert.deepEqual(told, [made.id])
  })

  it('a refresh racing a local create keeps the new token, and one racing a local revoke does not bring it back', async () => {
    const store = new SlowTokens()
    const registry = await TokenRegistry.load(store)
    const old = await registry.create('admin', 'old', 0)
    store.hold = true
    const refreshing = registry.refresh()
    await new Promise((resolve) => setImmediate(resolve))
    const made = await registry.create('read', 'new', 0)
    await registry.revoke(old.id)
    store.release?.()
    await refreshing
    assert.equal(registry.verify(made.token)?.scope, 'read', 'created during the read: kept')
    assert.equal(registry.verify(old.token), null, 'revoked during the read: stays revoked')
  })
})
