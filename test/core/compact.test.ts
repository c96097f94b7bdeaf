// Shared definitions: what tasks repeat is held once, and a shared definition still reads, prints and
// copies as the full definition it stands for.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Interner, plainSpec } from '../../src/core/compact.js'
import type { TaskSpec } from '../../src/core/types.js'

const spec = (name: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({
  name, script: '/opt/jobs/report.sh', args: ['--fast'], at: 1_800_000_000_000, deadline: null, onDeadline: 'run', missed: 'once', overlap: 'skip', preemptible: false, manual: false, after: [], nodes: [], onSuccess: [], onFailure: null, priority: 'medium',
  front: false, retries: 2, restart: 'on-failure', cron: null, cronTz: null, backoff: { baseMs: 1000, factor: 2, capMs: 60_000 },
  timeoutMs: 5000, expectMs: null, memoryBytes: null, cwd: '/tmp', env: { A: '1' }, envFile: null, user: null, digest: `digest-of-${name}`, ...extra,
})

test('a shared definition reads, serializes and copies as the definition it came from, in the same key order', () => {
  const original = spec('a', { deadline: 1_800_000_060_000 })
  const shared = new Interner().spec(original)
  for (const key of Object.keys(original) as (keyof TaskSpec)[]) assert.deepEqual(shared[key], original[key], key)
  assert.equal(JSON.stringify(shared), JSON.stringify(original))
  assert.deepEqual(plainSpec(shared), original)
  assert.equal(Object.getPrototypeOf(plainSpec(shared)), Object.prototype)
})

test('tasks that differ only in name, dates and digest share one profile; any other difference gets its own', () => {
  const interner = new Interner()
  const a = interner.spec(spec('a'))
  const b = interner.spec(spec('b', { at: 1_900_000_000_000, deadline: 1_900_000_001_000 }))
  const c = interner.spec(spec('c', { env: { A: '2' } }))
  assert.equal(a.args, b.args)
  assert.equal(a.env, b.env)
  assert.equal(a.backoff, b.backoff)
  assert.notEqual(a.env, c.env)
  assert.deepEqual(c.env, { A: '2' })
  assert.equal(interner.spec(a), a, 'interning twice gives the same object')
})

test('a shared definition cannot be changed in place', () => {
  const shared = new Interner().spec(spec('a'))
  assert.throws(() => ((shared as { script: string }).script = '/bin/false'), TypeError)
  assert.throws(() => shared.args.push('x'), TypeError)
  assert.throws(() => ((shared.env as Record<string, string>)['B'] = '2'), TypeError)
  assert.equal(shared.script, '/opt/jobs/report.sh')
})

test('definitions that differ in any shared field, even null against empty, never share a profile', () => {
  const interner = new Interner()
  const variants: Partial<TaskSpec>[] = [
    {}, { script: '/opt/jobs/other.sh' }, { args: [] }, { args: ['--fast', ''] }, { args: ['--fast\u0000'] }, { priority: 'high' },
    { front: true }, { retries: 3 }, { restart: 'always' }, { cron: '* * * * *' }, { cron: '* * * * *', cronTz: 'UTC' },
    { backoff: null }, { backoff: { baseMs: 1000, factor: 3, capMs: 60_000 } }, { timeoutMs: null }, { timeoutMs: 0 },
    { memoryBytes: 1 }, { cwd: null }, { cwd: '' }, { env: {} }, { env: { A: '1', B: '' } }, { user: 'nobody' }, { user: '' }, { envFile: '/etc/app.env' },
  ]
  const specs = variants.map((extra, i) => interner.spec(spec(`t${i}`, extra)))
  for (const [i, a] of specs.entries()) {
    for (const [j, b] of specs.entries()) {
      if (i === j) continue
      const same = (Object.keys(plainSpec(a)) as (keyof TaskSpec)[])
        .filter((k) => !['name', 'at', 'deadline', 'digest'].includes(k))
        .every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]))
      assert.equal(same, false, `variants ${i} and ${j} read the same`)
    }
    assert.deepEqual(plainSpec(a), { ...spec(`t${i}`, variants[i]) })
  }
})

test('any sequence of definitions, each interned after the others, reads back as itself', () => {
  // Few values per field, so that profiles repeat and differ by one field: the cases the recent-profile check must tell apart.
  const extra = fc.record({
    script: fc.constantFrom('/a.sh', '/b.sh'), args: fc.constantFrom<string[]>([], ['x'], ['x', 'y'], ['y']), priority: fc.constantFrom('high', 'medium' as const),
    front: fc.boolean(), retries: fc.constantFrom(0, 3), cron: fc.constantFrom(null, '* * * * *'), cronTz: fc.constantFrom(null, 'UTC'),
    backoff: fc.constantFrom(null, { baseMs: 1, factor: 2, capMs: 3 }, { baseMs: 1, factor: 2, capMs: 4 }),
    timeoutMs: fc.constantFrom(null, 0, 10), cwd: fc.constantFrom(null, '', '/tmp'),
    env: fc.constantFrom({}, { A: '1' }, { A: '2' }, { A: '1', B: '1' }, { B: '1', A: '1' }), user: fc.constantFrom(null, 'nobody'), envFile: fc.constantFrom(null, '/etc/a.env'),
  }, { noNullPrototype: true })
  fc.assert(fc.property(fc.array(extra, { minLength: 1, maxLength: 30 }), (extras) => {
    const interner = new Interner()
    extras.forEach((fields, i) => {
      const original = spec(`t${i}`, fields)
      assert.deepEqual(plainSpec(interner.spec(original)), plainSpec(original))
      assert.deepEqual(Object.keys(interner.spec(original).env), Object.keys(original.env))
    })
  }), { numRuns: 300 })
})
