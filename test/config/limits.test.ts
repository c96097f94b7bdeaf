// Values refused at the boundary: dates outside 1970..9999, durations over 100 years, and what
// execve would refuse at spawn (NUL bytes, over-long arguments, bad environment names, too much in all).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DomainError } from '../../src/core/errors.js'
import { MAX_TIME } from '../../src/core/time-range.js'
import { parseSettings, flagName } from '../../src/config/daemon-settings.js'
import { parseEcosystem } from '../../src/config/ecosystem.js'
import { nextCronTime } from '../../src/config/cron.js'
import { resolveTask, taskInputSchema, type TaskInput } from '../../src/config/task-input.js'

const NOW = Date.UTC(2026, 11, 3)
const RANGE = 'expected a date from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z'

/** The messages `fields` of one task get, from the schema and then from resolving it at NOW. */
function problems(fields: Record<string, unknown>): string[] {
  const parsed = taskInputSchema.safeParse({ name: 't', script: '/bin/true', ...fields })
  if (!parsed.success) {
    try {
      parseEcosystem({ tasks: [{ name: 't', script: '/bin/true', ...fields }] }, '/srv')
    } catch (error) {
      assert.ok(error instanceof DomainError)
      return error.message.split('\n').map((line) => line.replace(/^tasks\[0\] \(t\)\./, ''))
    }
  }
  try {
    resolveTask(parsed.data as TaskInput, { now: NOW, baseDir: '/srv', totalMemory: 1 })
  } catch (error) {
    assert.ok(error instanceof DomainError && error.code === 'invalid', String(error))
    return error.message.split('\n')
  }
  return []
}

describe('one representable range for every date', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a relative at past year 9999, however large', { at: '+100000000d' }, `at: ${RANGE}, got "+100000000d"`],
    ['a relative at past year 9999 from now', { at: '+3000000d' }, `at: ${RANGE}, got "+3000000d"`],
    ['a relative deadline past year 9999 from now', { deadline: '+3000000d' }, `deadline: ${RANGE}, got "+3000000d"`],
    ['a date before 1970', { at: '1969-12-31T23:59:59Z' }, `at: ${RANGE}, got "1969-12-31T23:59:59Z"`],
    ['year 0070 (not 1970)', { at: '0070-01-01T00:00:00Z' }, `at: ${RANGE}, got "0070-01-01T00:00:00Z"`],
    ['the last instant, an hour west', { deadline: '9999-12-31T23:00:00-02:00' }, `deadline: ${RANGE}, got "9999-12-31T23:00:00-02:00"`],
    ['a cron task with no slot left before year 10000', { at: '9999-12-31T01:00:00Z', cron: '0 0 1 1 *' },
      'cron: "0 0 1 1 *" has no slot from 9999-12-31T01:00:00.000Z on'],
  ]
  for (const [what, fields, message] of cases) {
    it(`refuses ${what}, naming the field`, () => assert.deepEqual(problems(fields), [message]))
  }

  it('names at and deadline at once when both are out of range', () => {
    assert.deepEqual(problems({ at: '+3000000d', deadline: '+3000001d' }), [`at: ${RANGE}, got "+3000000d"`, `deadline: ${RANGE}, got "+3000001d"`])
  })

  it('accepts the ends of the range', () => {
    assert.deepEqual(problems({ at: '1970-01-01T00:00:00Z', deadline: '9999-12-31T23:59:59.999Z' }), [])
    const parsed = taskInputSchema.parse({ name: 't', script: '/bin/true', at: '+2900000d' })
    assert.ok(resolveTask(parsed, { now: NOW, baseDir: '/srv', totalMemory: 1 }).at <= MAX_TIME)
  })

  it('finds no next cron slot from beyond the range (croner throws a TypeError on the invalid date)', () => {
    assert.equal(nextCronTime('* * * * *', null, 9e15), null)
    assert.equal(nextCronTime('* * * * *', null, MAX_TIME + 86_400_000), null)
    assert.equal(nextCronTime('0 0 1 1 *', 'UTC', Date.UTC(9999, 5, 1)), null)
    assert.equal(nextCronTime('0 0 1 1 *', 'UTC', Date.UTC(2026, 5, 1)), Date.UTC(2027, 0, 1))
  })
})

describe('durations of at most 100 years (36500d)', () => {
  for (const [field, value] of [['timeout', '99999999d'], ['timeout', '36501d'], ['timeout', 36_500 * 86_400_000 + 1]] as const) {
    it(`refuses ${field} ${JSON.stringify(value)}`, () => {
      assert.deepEqual(problems({ [field]: value }), [`${field}: expected at most 36500d, got ${JSON.stringify(value)}`])
    })
  }
  it('refuses a task backoff base or cap over it', () => {
    assert.deepEqual(problems({ backoff: { base: '99999999d', cap: '40000d' } }), [
      'backoff.base: expected at most 36500d, got "99999999d"', 'backoff.cap: expected at most 36500d, got "40000d"',
    ])
  })
  it('accepts 36500d', () => assert.deepEqual(problems({ timeout: '36500d', backoff: { base: '36500d', cap: '36500d' } }), []))

  it('refuses daemon settings over it, naming each', () => {
    assert.throws(
      () => parseSettings({ backoff: { base: '99999999d' }, killTimeout: '36501d', urgency: 4e12, stableAfter: '876001h' }, (key) => `supervisor.${key}`),
      (error: unknown) => {
        assert.ok(error instanceof DomainError)
        assert.deepEqual(error.message.split('; ').sort(), [
          'supervisor.backoff.base: expected at most 36500d, got "99999999d"',
          'supervisor.killTimeout: expected at most 36500d, got "36501d"',
          'supervisor.stableAfter: expected at most 36500d, got "876001h"',
          'supervisor.urgency: expected at most 36500d, got 4000000000000',
        ])
        return true
      },
    )
    assert.deepEqual(parseSettings({ urgency: '36500d', backoff: { cap: '36500d' } }, flagName), { urgency: '36500d', backoff: { cap: '36500d' } })
  })
})

describe('what execve would refuse, refused by field', () => {
  const NAME = 'expected an environment variable name (not empty, no "=" or NUL byte, not __proto__)'
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['a NUL byte in an argument', { args: ['ok', 'a\0b'] }, ['args[1]: expected a string without NUL bytes, got "a\\u0000b"']],
    ['a NUL byte in the script', { script: '/bin/tr\0ue' }, ['script: expected a string without NUL bytes, got "/bin/tr\\u0000ue"']],
    ['a NUL byte in cwd', { cwd: '/tmp\0' }, ['cwd: expected a string without NUL bytes, got "/tmp\\u0000"']],
    ['a NUL byte in an env value', { env: { A: 'x\0' } }, ['env.A: expected a string without NUL bytes, got "x\\u0000"']],
    ['a NUL byte in an env name', { env: { 'A\0': 'x' } }, [`env["A\\u0000"]: ${NAME}, got "A\\u0000"`]],
    ['an empty env name', { env: { '': 'x' } }, [`env[""]: ${NAME}, got ""`]],
    ['an env name with "="', { env: { 'A=B': 'x' } }, [`env["A=B"]: ${NAME}, got "A=B"`]],
    ['an env name __proto__ (JSON keeps it as a key)', { env: JSON.parse('{"__proto__": "x", "B": "1"}') as unknown }, [`env.__proto__: ${NAME}, got "__proto__"`]],
    ['an argument of 131072 bytes (MAX_ARG_STRLEN with its NUL)', { args: ['x'.repeat(131_072)] }, ['args[0]: expected at most 131071 bytes, got 131072 bytes']],
    ['an env entry of 131072 bytes', { env: { AB: 'x'.repeat(131_069) } }, ['env.AB: expected KEY=VALUE of at most 131071 bytes, got 131072 bytes']],
    ['args over 1 MiB in all', { args: Array.from({ length: 9 }, () => 'y'.repeat(120_000)) },
      ['args: expected script, args and env of at most 1048576 bytes in all, got 1080099 bytes']],
    ['env over 1 MiB in all', { env: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`K${i}`, 'y'.repeat(120_000)])) },
      ['env: expected script, args and env of at most 1048576 bytes in all, got 1080126 bytes']],
  ]
  for (const [what, fields, messages] of cases) {
    it(`refuses ${what}`, () => assert.deepEqual(problems(fields), messages))
  }

  it('accepts the largest argument and unusual but valid env names', () => {
    assert.deepEqual(problems({ args: ['x'.repeat(131_071)], env: { constructor: '1', 'a.b': '2', 'with space': '3', toString: '' } }), [])
  })
})
