// Several nodes on one log, in the core alone: each node keeps its own state by reducing the one log,
// decides on it, and commits only if the log has not moved since (else it reads on and decides again),
// as the dispatcher does against PostgreSQL. Claims, ownership, placement, lost nodes and fencing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { Action, Effect } from '../../src/core/actions.js'
import type { Limits } from '../../src/core/admission.js'
import { waitingReason } from '../../src/core/admission.js'
import { decide } from '../../src/core/decide.js'
import { reduce } from '../../src/core/reducer.js'
import { createState, type State } from '../../src/core/state.js'
import type { TaskEvent } from '../../src/core/types.js'
import { brief, NO_LIMITS, spec, stamp, T0, UNKNOWN_RESOURCES } from '../helpers/core-driver.js'

/** One log, several nodes; `decided` keeps a decision made on a node's state as it stood, to commit later. */
class Cluster {
  readonly log: TaskEvent[] = []
  readonly nodes = new Map<string, State>()
  now = T0
  private pid = 1000

  constructor(names: string[]) {
    for (const name of names) this.nodes.set(name, createState({ node: name, shared: true }))
  }

  node(name: string): State {
    const state = this.nodes.get(name)
    if (state === undefined) throw new Error(`no node ${name}`)
    return state
  }

  /** Read the log on from where the node stands. */
  catchUp(name: string): TaskEvent[] {
    const state = this.node(name)
    const fresh = this.log.filter((e) => e.seq > state.seq)
    for (const event of fresh) reduce(state, event)
    return fresh
  }

  /** Decide on the node's state as it stands, without reading on; `commit` it later. */
  decideOn(name: string, action: Action): { node: string; at: number; action: Action; events: TaskEvent[]; effects: Effect[] } {
    const state = this.node(name)
    const decision = decide(state, action)
    return { node: name, at: state.seq, action, events: stamp(decision.events, state.seq, action.now), effects: decision.effects }
  }

  /** Commit a decision if the log has not moved since it was made; else read on and decide again (as the dispatcher). */
  commit(decided: ReturnType<Cluster['decideOn']>): { events: TaskEvent[]; effects: Effect[]; retried: boolean } {
    let current = decided
    let retried = false
    while (current.at !== this.log.length) {
      this.catchUp(current.node)
      current = this.decideOn(current.node, current.action)
      retried = true
    }
    const state = this.node(current.node)
    for (const event of current.events) {
      this.log.push(event)
      reduce(state, event)
    }
    return { events: current.events, effects: current.effects, retried }
  }

  act(name: string, action: Action): { events: TaskEvent[]; effects: Effect[]; retried: boolean } {
    this.catchUp(name)
    return this.commit(this.decideOn(name, action))
  }

  add(name: string, fields: Parameters<typeof spec>[1] = {}, on = 'a'): void {
    this.act(on, { type: 'add', now: this.now, spec: spec(name, { at: this.now, ...fields }) })
    this.act(on, { type: 'clock', now: this.now })
  }

  claim(name: string, limits: Limits = NO_LIMITS): string[] {
    return this.act(name, { type: 'claim', now: this.now, resources: UNKNOWN_RESOURCES, limits }).events.filter((e) => e.type === 'run.claimed').map((e) => e.task)
  }

  /** The node's launcher reports the start of a claimed task. */
  started(node: string, task: string, pid = this.pid++): { events: TaskEvent[]; effects: Effect[]; pid: number } {
    return { ...this.act(node, { type: 'started', now: this.now, name: task, pid }), pid }
  }

  exited(node: string, task: string, pid: number, code = 0): TaskEvent[] {
    return this.act(node, { type: 'exited', now: this.now, name: task, pid, code, signal: null, cause: null, jitter: 0 }).events
  }
}

const ONE_SLOT: Limits = { ...NO_LIMITS, maxConcurrent: 1 }

describe('cluster: one log, several nodes', () => {
  it('two nodes claiming the same task on the same log: the second re-reads and claims nothing', () => {
    const c = new Cluster(['a', 'b'])
    c.add('job')
    c.catchUp('b')
    const fromA = c.decideOn('a', { type: 'claim', now: c.now, resources: UNKNOWN_RESOURCES, limits: NO_LIMITS })
    const fromB = c.decideOn('b', { type: 'claim', now: c.now, resources: UNKNOWN_RESOURCES, limits: NO_LIMITS })
    assert.deepEqual(brief(fromA.events), ['run.claimed job'])
    assert.deepEqual(brief(fromB.events), ['run.claimed job'])
    c.commit(fromA)
    const second = c.commit(fromB)
    assert.equal(second.retried, true)
    assert.deepEqual(second.events, [])
    assert.deepEqual(second.effects, [])
    assert.equal(c.log.filter((e) => e.type === 'run.claimed').length, 1)
  })

  it('a start and its node are in the log; every node sees the run on it', () => {
    const c = new Cluster(['a', 'b'])
    c.add('job')
    c.claim('a')
    const { events, pid } = c.started('a', 'job')
    assert.deepEqual(events.map((e) => e.type === 'run.started' && e.node), ['a'])
    c.catchUp('b')
    const onB = c.node('b').tasks.get('job')
    assert.equal(onB?.state, 'running')
    assert.equal(onB?.node, 'a')
    assert.equal(onB?.pid, pid)
    assert.deepEqual(c.claim('b'), [], 'b does not start what runs on a')
  })

  it('each node admits by its own slots', () => {
    const c = new Cluster(['a', 'b'])
    for (const name of ['j1', 'j2', 'j3']) c.add(name)
    assert.deepEqual(c.claim('a', ONE_SLOT), ['j1'])
    c.started('a', 'j1')
    assert.deepEqual(c.claim('a', ONE_SLOT), [], 'a is full')
    assert.deepEqual(c.claim('b', ONE_SLOT), ['j2'], "a's run takes none of b's slots")
  })

  it('placement: a task placed on b is claimed by b only, and a says why it waits', () => {
    const c = new Cluster(['a', 'b'])
    c.add('pinned', { nodes: ['b'] })
    assert.deepEqual(c.claim('a'), [])
    const task = c.node('a').tasks.get('pinned')
    assert.ok(task !== undefined)
    assert.equal(waitingReason(c.node('a'), task, UNKNOWN_RESOURCES, NO_LIMITS, null), 'placed on "b"')
    assert.deepEqual(c.claim('b'), ['pinned'])
  })

  it('an exit is recorded by the node the run is on; another node reporting that pid records nothing', () => {
    const c = new Cluster(['a', 'b'])
    c.add('job')
    c.claim('a')
    const { pid } = c.started('a', 'job')
    assert.deepEqual(c.exited('b', 'job', pid), [], 'the same pid on b is another process')
    assert.deepEqual(brief(c.exited('a', 'job', pid)), ['run.exited job', 'task.succeeded job'])
  })

  it('a stop asked on b of a run on a: the outcome is `stopped` when a reports the exit', () => {
    const c = new Cluster(['a', 'b'])
    c.add('job')
    c.claim('a')
    const { pid } = c.started('a', 'job')
    const stop = c.act('b', { type: 'stop', now: c.now, name: 'job' })
    assert.deepEqual(stop.events.map((e) => e.type === 'run.stopping' && [e.pid, e.signal]), [[pid, 'SIGTERM']])
    const exit = c.act('a', { type: 'exited', now: c.now, name: 'job', pid, code: null, signal: 'SIGTERM', cause: null, jitter: 0 })
    assert.deepEqual(exit.events.map((e) => e.type === 'run.exited' && e.outcome), ['stopped', false])
    c.catchUp('b')
    assert.equal(c.node('b').tasks.get('job')?.state, 'stopped')
  })

  it('a lost node: its runs and claims end interrupted, are queued again, and another node takes them', () => {
    const c = new Cluster(['a', 'b'])
    c.add('running')
    c.claim('a')
    const { pid } = c.started('a', 'running')
    c.add('claimed')
    assert.deepEqual(c.claim('a'), ['claimed'])
    c.add('elsewhere')
    assert.deepEqual(c.claim('b', ONE_SLOT), ['elsewhere'])
    c.started('b', 'elsewhere')
    const lost = c.act('b', { type: 'lost', now: c.now, node: 'a', silentMs: 31_000 })
    assert.deepEqual(brief(lost.events), ['run.exited running', 'task.due running', 'run.exited claimed', 'task.due claimed'])
    const exits = lost.events.filter((e) => e.type === 'run.exited')
    assert.deepEqual(exits.map((e) => e.type === 'run.exited' && [e.pid, e.outcome]), [[pid, 'interrupted'], [null, 'interrupted']])
    assert.match(exits[0]?.type === 'run.exited' ? exits[0].cause ?? '' : '', /node "a" was lost \(no heartbeat for 31s\)/)
    assert.deepEqual(c.claim('b').sort(), ['claimed', 'running'])
    // Lost again: nothing left on a to move.
    assert.deepEqual(c.act('b', { type: 'lost', now: c.now, node: 'a', silentMs: 40_000 }).events, [])
  })

  it('a lost node\'s claim of a task removed since is ended too: the name can be added and run again', () => {
    const c = new Cluster(['a', 'b'])
    c.add('gone')
    c.claim('a')
    c.act('b', { type: 'remove', now: c.now, name: 'gone' })
    const lost = c.act('b', { type: 'lost', now: c.now, node: 'a', silentMs: 31_000 })
    assert.deepEqual(brief(lost.events), ['run.exited gone'])
    assert.equal(c.node('b').starting.has('gone'), false)
    c.add('gone', {}, 'b')
    assert.deepEqual(c.claim('b'), ['gone'])
  })

  it('fencing: a lost node that comes back records neither its old run nor its stale start, and ends the start', () => {
    const c = new Cluster(['a', 'b'])
    c.add('running')
    c.claim('a')
    const { pid } = c.started('a', 'running')
    c.add('claimed')
    c.claim('a')
    c.act('b', { type: 'lost', now: c.now, node: 'a', silentMs: 31_000 })
    c.claim('b')
    const onB = c.started('b', 'running')
    // a reads the log on: its old run's exit, and the start of its old claim, are not its own any more.
    assert.deepEqual(c.exited('a', 'running', pid, 0), [])
    const stale = c.started('a', 'claimed', 4242)
    assert.deepEqual(stale.events, [])
    assert.deepEqual(stale.effects, [{ type: 'signal', task: 'claimed', pid: 4242, signal: 'SIGKILL' }])
    assert.equal(c.node('a').tasks.get('running')?.pid, onB.pid)
    assert.equal(c.node('a').tasks.get('running')?.node, 'b')
  })

  it("a node's boot and shutdown touch its own runs only", () => {
    const c = new Cluster(['a', 'b'])
    c.add('on-a')
    c.claim('a', ONE_SLOT)
    c.started('a', 'on-a')
    c.add('on-b')
    c.claim('b', ONE_SLOT)
    const { pid } = c.started('b', 'on-b')
    c.add('claim-a')
    c.claim('a', { ...NO_LIMITS, maxConcurrent: 2 })
    const shutdown = c.act('a', { type: 'shutdown', now: c.now })
    assert.deepEqual(brief(shutdown.events), ['run.stopping on-a'])
    const boot = c.act('a', { type: 'boot', now: c.now, keep: [] })
    assert.deepEqual(brief(boot.events), ['run.exited on-a', 'task.due on-a', 'run.exited claim-a', 'task.due claim-a'])
    assert.equal(c.node('a').tasks.get('on-b')?.pid, pid, "b's run goes on")
  })

  it('any interleaving of three nodes: every task starts exactly once at a time and succeeds once (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ node: fc.constantFrom('a', 'b', 'c'), step: fc.constantFrom('claim', 'start', 'exit', 'stale') }), { minLength: 20, maxLength: 200 }),
      (steps) => {
        const c = new Cluster(['a', 'b', 'c'])
        for (let i = 0; i < 12; i += 1) c.add(`t${i}`)
        const launched = new Map<string, { node: string; task: string }[]>([['a', []], ['b', []], ['c', []]])
        const running = new Map<string, { node: string; pid: number }>()
        const stale: { node: string; decided: ReturnType<Cluster['decideOn']> }[] = []
        for (const { node, step } of [...steps, ...Array.from({ length: 60 }, (_, i) => ({ node: ['a', 'b', 'c'][i % 3] as string, step: ['claim', 'start', 'exit'][Math.floor(i / 3) % 3] as string }))]) {
          if (step === 'stale') {
            // A claim decided now, committed after other nodes moved on.
            c.catchUp(node)
            stale.push({ node, decided: c.decideOn(node, { type: 'claim', now: c.now, resources: UNKNOWN_RESOURCES, limits: { ...NO_LIMITS, maxConcurrent: 2 } }) })
          } else if (step === 'claim') {
            const late = stale.shift()
            const claimed = late === undefined ? c.claim(node, { ...NO_LIMITS, maxConcurrent: 2 }) : c.commit(late.decided).events.filter((e) => e.type === 'run.claimed').map((e) => e.task)
            for (const task of claimed) launched.get(late?.node ?? node)?.push({ node: late?.node ?? node, task })
          } else if (step === 'start') {
            const next = launched.get(node)?.shift()
            if (next !== undefined) {
              const { events, pid } = c.started(node, next.task)
              if (events.some((e) => e.type === 'run.started')) {
                assert.equal(running.has(next.task), false, `${next.task} started twice at once`)
                running.set(next.task, { node, pid })
              }
            }
          } else {
            const run = [...running.entries()].find(([, r]) => r.node === node)
            if (run !== undefined) {
              running.delete(run[0])
              c.exited(node, run[0], run[1].pid)
            }
          }
        }
        const successes = c.log.filter((e) => e.type === 'task.succeeded').map((e) => e.task)
        assert.equal(new Set(successes).size, successes.length, 'a task succeeded twice')
        // Whatever succeeded started exactly once; whatever started ended or still runs.
        for (const task of successes) assert.equal(c.log.filter((e) => e.type === 'run.started' && e.task === task).length, 1)
        for (const state of c.nodes.values()) {
          c.catchUp([...c.nodes.entries()].find(([, s]) => s === state)?.[0] ?? 'a')
        }
        const views = [...c.nodes.values()].map((s) => [...s.tasks.values()].map((t) => `${t.spec.name}:${t.state}:${t.node}:${t.pid}`).join(','))
        assert.equal(new Set(views).size, 1, 'every node ends with the same state')
      },
    ), { numRuns: 200 })
  })
})
