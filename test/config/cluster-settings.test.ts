// Cluster settings and placement at the boundary: a node name, a node timeout, a task's `nodes`; each
// problem named by its field.
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, it } from 'node:test'
import { parseSettings, resolveSettings } from '../../src/config/daemon-settings.js'
import { parseEcosystem } from '../../src/config/ecosystem.js'
import { resolveTask } from '../../src/config/task-input.js'

const flag = (key: string): string => `--${key}`

describe('cluster settings', () => {
  it('takes a node name and a node timeout, with the host name and 30s by default', () => {
    const defaults = resolveSettings([], 1)
    assert.equal(defaults.node, hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128) || 'node')
    assert.equal(defaults.nodeTimeoutMs, 30_000)
    const set = resolveSettings([parseSettings({ node: 'db-1.eu', nodeTimeout: '10s' }, flag)], 1)
    assert.equal(set.node, 'db-1.eu')
    assert.equal(set.nodeTimeoutMs, 10_000)
  })

  it('refuses a bad node name and a node timeout under 3s, naming the flag', () => {
    assert.throws(() => parseSettings({ node: 'no spaces' }, flag), /--node: expected a node name: 1-128 of A-Z a-z 0-9 \. _ -, got "no spaces"/)
    assert.throws(() => parseSettings({ node: '-dash' }, flag), /--node: expected a node name/)
    assert.throws(() => parseSettings({ nodeTimeout: '1s' }, flag), /--nodeTimeout: expected a duration such as 30s \(at least 3s\), got "1s"/)
    assert.throws(() => parseSettings({ nodeTimeout: 'soon' }, flag), /--nodeTimeout: expected a duration/)
  })
})

describe('task placement (nodes)', () => {
  it('keeps the nodes a task may run on; none means any', () => {
    const ctx = { now: 0, baseDir: '/srv', totalMemory: 1 }
    assert.deepEqual(resolveTask({ name: 'a', script: 'a.sh', nodes: ['n1', 'n2'] }, ctx).nodes, ['n1', 'n2'])
    assert.deepEqual(resolveTask({ name: 'a', script: 'a.sh' }, ctx).nodes, [])
    const placed = resolveTask({ name: 'a', script: 'a.sh', nodes: ['n1'] }, ctx)
    assert.notEqual(placed.digest, resolveTask({ name: 'a', script: 'a.sh', nodes: ['n2'] }, ctx).digest, 'a move to another node is a change')
  })

  it('refuses a bad node name, a repeat or a non-list, naming the task and field', () => {
    assert.throws(() => parseEcosystem({ tasks: [{ name: 'a', script: 'a.sh', nodes: ['ok', 'not ok'] }] }, '/srv'), /tasks\[0\] \(a\)\.nodes\[1\]: expected a node name/)
    assert.throws(() => parseEcosystem({ tasks: [{ name: 'a', script: 'a.sh', nodes: ['n1', 'n1'] }] }, '/srv'), /tasks\[0\] \(a\)\.nodes: expected a list of node names without repeats/)
    assert.throws(() => parseEcosystem({ tasks: [{ name: 'a', script: 'a.sh', nodes: 'n1' }] }, '/srv'), /tasks\[0\] \(a\)\.nodes: expected a list of node names/)
  })
})
