// Random command lines for the real `supervisor` executable against a live daemon: whatever the verb,
// flags (known, unknown, repeated) and values, it ends with 0, 1 or 2, and a failure is one line of
// its own words: never a stack trace or a JavaScript error leaking through (as a repeated numeric flag
// once did: "text.trim is not a function").
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { daemonForSuite, fixture, runCliWithin } from '../helpers/daemon-process.js'

/** Verbs that end on their own (not `watch`, `logs --follow` or `shutdown`), with the flags each takes. */
const VERBS: Record<string, string[]> = {
  add: ['--script', '--at', '--deadline', '--priority', '--retries', '--restart', '--timeout', '--memory', '--cron', '--tz', '--env', '--cwd', '--user', '--front'],
  apply: ['--prune', '--dry-run'],
  list: ['--json'],
  status: ['--json'],
  run: [],
  start: [],
  stop: [],
  restart: [],
  remove: [],
  history: ['--limit', '--json'],
  replay: [],
  logs: ['--lines'],
  errors: ['--json'],
  info: ['--json'],
  token: ['--scope', '--name', '--json'],
  nope: [],
}
/** Flags of no verb, or of the command as a whole. */
const OTHER_FLAGS = ['--bogus', '--home', '--url', '--token', '--since']
const VALUE = fc.oneof(
  fc.string({ maxLength: 12 }).filter((s) => !s.startsWith('-')),
  fc.constantFrom('0', '-1', '1.5', '1e9', 'abc', 'now', '+5m', 'high', 'always', '512M', '10%', '', ' ', '{}', '[]', 'nosuchtask'),
)
const JSON_OR_TEXT = /^(error: .+\n(run with --help for usage\n)?)?$/
const LEAKS = /TypeError|ReferenceError|is not a function|Cannot read prop|undefined|\n\s+at /

describe('fuzzing the command line', () => {
  const suite = daemonForSuite()

  it('always ends with 0, 1 or 2; a failure says "error: ..." in its own words', { timeout: 120_000 }, async () => {
    // Mostly the verb's own flags, some of them given twice; now and then one of no verb.
    const line = fc.constantFrom(...Object.keys(VERBS)).chain((verb) => {
      const own = fc.constantFrom(...(VERBS[verb] as string[]), ...OTHER_FLAGS)
      const flag = fc.oneof(
        { weight: 3, arbitrary: fc.tuple(own, VALUE) },
        { weight: 1, arbitrary: fc.tuple(own, VALUE, VALUE).map(([f, a, b]) => [f, a, f, b]) },
      )
      return fc.record({
        verb: fc.constant(verb),
        positional: fc.array(fc.oneof(VALUE, fc.constantFrom('create', 'list', 'revoke')), { maxLength: 2 }),
        flags: fc.array(flag, { maxLength: 3 }),
      })
    })
    await fc.assert(fc.asyncProperty(line, async ({ verb, positional, flags }) => {
      const args = ['ctl', '--home', suite.daemon.home, verb, ...positional, ...flags.flat()]
      const result = await runCliWithin(args, 15_000)
      const shown = JSON.stringify(args.slice(3))
      assert.equal(result.timedOut, false, `${shown} did not end`)
      assert.ok([0, 1, 2].includes(result.code), `${shown}: exit ${result.code}\n${result.stderr}`)
      if (result.code !== 0) assert.match(result.stderr, JSON_OR_TEXT, `${shown}: ${result.stderr}`)
      assert.doesNotMatch(result.stderr, LEAKS, `${shown}: ${result.stderr}`)
    }), { numRuns: 60 })
  })

  it('refuses every value-taking flag given twice as bad usage (exit 2), naming it', { timeout: 60_000 }, async () => {
    const script = fixture('ok.sh')
    // Each verb with what it needs besides the repeated flag; the flags that take one value each.
    const cases: [string[], string[]][] = [
      [['add', 'twice', '--script', script], ['--at', '--deadline', '--priority', '--retries', '--restart', '--cron', '--tz', '--user', '--timeout', '--memory', '--cwd']],
      [['add', 'twice'], ['--script']],
      [['history'], ['--limit']],
      [['logs', 'twice'], ['--lines']],
      [['token', 'create', '--scope', 'read'], ['--name']],
      [['token', 'create'], ['--scope']],
    ]
    for (const [base, flags] of cases) {
      for (const flag of flags) {
        const args = ['ctl', '--home', suite.daemon.home, ...base, flag, '1', flag, '2']
        const result = await runCliWithin(args, 15_000)
        const shown = JSON.stringify(args.slice(3))
        assert.equal(result.code, 2, `${shown}: exit ${result.code}\n${result.stderr}`)
        assert.equal(result.stderr, `error: ${flag}: given 2 times (1, 2); give it once\nrun with --help for usage\n`, shown)
      }
    }
    assert.equal((await suite.daemon.ctl(['status', 'twice'])).code, 1, 'nothing was added')
  })

  it('keeps serving: a task added before the fuzzing can still be read', async () => {
    await suite.daemon.add('after-fuzz', ['--script', fixture('ok.sh'), '--at', '+1h'])
    assert.equal((await suite.daemon.task('after-fuzz')).state, 'scheduled')
  })
})
