// Fuzzing the boundaries in-process: any document or flag set is either accepted or refused as `invalid`
// with a message naming a field, and nothing else ever escapes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DomainError } from '../../src/core/errors.js'
import { parseEcosystem } from '../../src/config/ecosystem.js'
import { resolveTask, taskInputSchema } from '../../src/config/task-input.js'
import { parseEnvPairs, taskInputFromFlags } from '../../src/cli/commands/ctl/add.js'

const validTask = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
  script: fc.constantFrom('a.sh', '/bin/true', 'x/y.sh'),
  priority: fc.constantFrom('high', 'medium', 'low'),
  at: fc.constantFrom('now', '+10s', '2030-01-01T00:00:00Z', '2030-01-01'),
  retries: fc.integer({ min: 0, max: 10 }),
})

/** A valid task with one field replaced by anything. */
const mutatedTask = fc.tuple(validTask, fc.constantFrom('name', 'script', 'priority', 'at', 'deadline', 'retries', 'timeout', 'memory', 'cron', 'env', 'args', 'front', 'restart', 'colour'), fc.anything())
  .map(([task, key, value]) => ({ ...task, [key]: value }))

function refusedByField(run: () => unknown): void {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof DomainError, `only DomainError escapes, got ${String(error)}`)
    assert.equal(error.code, 'invalid')
    // Every line starts with the path of a field: a known root, a task, or a quoted odd key.
    for (const line of error.message.split('\n')) assert.match(line, /^(?:[A-Za-z_$][\w$]*|\[)[^\n]*?: \S/, `names a field: ${line}`)
  }
}

describe('ecosystem and task fuzzing', () => {
  it('any JSON document is accepted or refused by field', () => {
    fc.assert(fc.property(fc.jsonValue(), (document) => refusedByField(() => parseEcosystem(document, '/srv'))), { numRuns: 500 })
  })

  it('files of valid tasks with one mutated field are accepted or refused by task and field', () => {
    fc.assert(fc.property(fc.array(fc.oneof(validTask, mutatedTask), { maxLength: 8 }), (tasks) => {
      refusedByField(() => parseEcosystem({ tasks }, '/srv'))
    }), { numRuns: 500 })
  })

  it('whatever passes the schema resolves, or is refused as invalid (dates out of order)', () => {
    fc.assert(fc.property(mutatedTask, fc.integer({ min: 0, max: 2 ** 42 }), (raw, now) => {
      const parsed = taskInputSchema.safeParse(raw)
      if (!parsed.success) return
      refusedByField(() => resolveTask(parsed.data, { now, baseDir: '/srv', totalMemory: 2 ** 33 }))
    }), { numRuns: 1000 })
  })

  it('ctl add flags of any text become an input the schema accepts or refuses by field', () => {
    const text = fc.oneof(fc.string(), fc.constantFrom('now', '+5m', 'high', '3', '-1', '1e9', 'always'))
    fc.assert(fc.property(fc.record({
      name: fc.string(), script: fc.string({ minLength: 1 }), at: text, deadline: text, priority: text, retries: text,
      restart: text, timeout: text, memory: text, cron: text, env: fc.array(fc.string(), { maxLength: 3 }),
    }, { requiredKeys: ['name', 'script'] }), (flags) => {
      refusedByField(() => {
        const input = taskInputFromFlags({ ...flags } as never, '/home/me')
        const parsed = taskInputSchema.safeParse(input)
        if (parsed.success) resolveTask(parsed.data, { now: 0, baseDir: '/home/me', totalMemory: 2 ** 33 })
      })
    }), { numRuns: 1000 })
  })

  it('env pairs without "=" are refused naming env', () => {
    assert.throws(() => parseEnvPairs(['A=1', 'broken']), /^DomainError: env: expected KEY=VALUE, got "broken"$/)
    assert.deepEqual(parseEnvPairs(['A=1', 'B==2', 'C=']), { A: '1', B: '=2', C: '' })
  })
})
