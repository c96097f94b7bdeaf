// Cluster membership on a fake store and clock: heartbeats, lost nodes judged only by a node whose own
// beats have gone through for a whole node timeout (a database outage must not make every node take
// the others for lost), a fenced node joining again.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Action } from '../../src/core/actions.js'
import { reduce } from '../../src/core/reducer.js'
import { createState } from '../../src/core/state.js'
import type { NewEvent } from '../../src/core/types.js'
import { Membership } from '../../src/runtime/cluster.js'
import type { SharedLog } from '../../src/store/store.js'
import { spec, stamp, T0 } from '../helpers/core-driver.js'

const TIMEOUT = 30_000

function setup(): { membership: Membership; store: FakeNodes; requests: Action[]; clock: { now: number } } {
  const state = createState({ node: 'a', shared: true })
  // A run on node b, as the log says.
  const events: NewEvent[] = [
    { type: 'task.added', task: 'job', spec: spec('job') },
    { type: 'task.due', task: 'job', reason: 'date' },
    { type: 'run.claimed', task: 'job', node: 'b' },
    { type: 'run.started', task: 'job', pid: 77, pidStart: null, attempt: 1, node: 'b' },
  ]
  for (const event of stamp(events, 0, T0)) reduce(state, event)
  const requests: Action[] = []
  const clock = { now: T0 }
  const store = new FakeNodes()
  const member = { state, resources: { cpuPercent: null, freeBytes: null }, request: async (action: Action) => void requests.push(action) }
  const membership = new Membership(store as unknown as SharedLog, member, { node: 'a', timeoutMs: TIMEOUT, version: 'test', now: () => clock.now })
  return { membership, store, requests, clock }
}

class FakeNodes {
  epoch = 0
  registered = 0
  beat: 'ok' | 'fenced' | 'down' = 'ok'
  lost: { name: string; silentMs: number }[] = []
  async registerNode(): Promise<number> {
    this.registered += 1
    return ++this.epoch
  }
  async heartbeat(): Promise<boolean> {
    if (this.beat === 'down') throw new Error('connection refused')
    return this.beat === 'ok'
  }
  async lostNodes(): Promise<{ name: string; silentMs: number }[]> {
    return this.lost
  }
  async tryLead(): Promise<boolean> {
    return true
  }
}

/** Beat every 5 s (a third of... at most 5 s) from now until `until`. */
async function beatUntil(membership: Membership, clock: { now: number }, until: number): Promise<void> {
  while (clock.now < until) {
    clock.now += 5000
    await membership.beat()
  }
}

describe('cluster membership', () => {
  it('a node silent past the timeout is reported lost once this node has beaten for a whole timeout', async () => {
    const { membership, store, requests, clock } = setup()
    await membership.start()
    store.lost = [{ name: 'b', silentMs: 31_000 }]
    await beatUntil(membership, clock, T0 + 25_000)
    assert.equal(requests.length, 0, 'not before this node has been healthy for a whole timeout')
    await beatUntil(membership, clock, T0 + 30_000)
    assert.deepEqual(requests.map((r) => r.type === 'lost' && [r.node, r.silentMs]), [['b', 31_000]])
    await membership.close()
  })

  it('after an outage of the database, nobody is judged before this node has beaten again for a whole timeout', async () => {
    const { membership, store, requests, clock } = setup()
    await membership.start()
    await beatUntil(membership, clock, T0 + 40_000)
    store.beat = 'down'
    await beatUntil(membership, clock, T0 + 100_000)
    // Back: every node's last beat is 60 s old; b has not beaten yet.
    store.beat = 'ok'
    store.lost = [{ name: 'b', silentMs: 65_000 }]
    await beatUntil(membership, clock, T0 + 125_000)
    assert.equal(requests.length, 0)
    store.lost = []
    await beatUntil(membership, clock, T0 + 160_000)
    assert.equal(requests.length, 0, 'b beat meanwhile: nothing lost')
    await membership.close()
  })

  it('a beat that comes late (the database hung, or the process was paused) starts the wait again', async () => {
    const { membership, store, requests, clock } = setup()
    await membership.start()
    await beatUntil(membership, clock, T0 + 40_000)
    clock.now += 60_000
    store.lost = [{ name: 'b', silentMs: 61_000 }]
    await membership.beat()
    assert.equal(requests.length, 0)
    await beatUntil(membership, clock, clock.now + 30_000)
    assert.equal(requests.length, 1)
    await membership.close()
  })

  it('a node told it was declared lost joins again under a new epoch', async () => {
    const { membership, store, clock } = setup()
    await membership.start()
    assert.equal(store.registered, 1)
    store.beat = 'fenced'
    clock.now += 5000
    await membership.beat()
    assert.equal(store.registered, 2)
    await membership.close()
  })
})
