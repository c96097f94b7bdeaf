// End to end: `ctl apply FILE --prune --dry-run` says what would be added, updated and removed, and
// changes nothing; the same apply without --dry-run then does exactly that.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { TaskEvent } from '../../src/core/types.js'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

describe('apply --dry-run', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0'])

  it('lists what an apply --prune would add, update (with the fields) and remove, and changes nothing', { timeout: 30_000 }, async () => {
    const { daemon, work } = suite
    const file = (name: string): string => join(work, name)
    // An absolute date: a relative one ("+1h") is resolved again by each apply, so an update moves it.
    const at = new Date(Date.now() + 3_600_000).toISOString()
    await writeFile(file('before.json'), JSON.stringify({ tasks: [
      { name: 'keep', script: fixture('ok.sh'), at },
      { name: 'change', script: fixture('ok.sh'), at, args: ['a'] },
      { name: 'drop', script: fixture('ok.sh'), at },
    ] }))
    await writeFile(file('after.json'), JSON.stringify({ tasks: [
      { name: 'keep', script: fixture('ok.sh'), at },
      { name: 'change', script: fixture('ok.sh'), at, args: ['b'], priority: 'high' },
      { name: 'new', script: fixture('ok.sh'), at },
    ] }))
    assert.equal((await daemon.ctl(['apply', file('before.json')])).code, 0)
    const snapshot = async (): Promise<[string, TaskEvent[]]> =>
      [(await daemon.ctl(['list', '--json'])).stdout, await daemon.ctlJson<TaskEvent[]>(['history'])]
    const before = await snapshot()

    const text = await daemon.ctl(['apply', file('after.json'), '--prune', '--dry-run'])
    assert.equal(text.code, 0, text.stderr)
    assert.equal(text.stdout, [
      `${file('after.json')} (dry run, nothing changed):`,
      'would add (1): new',
      'would update (1): change (args, priority)',
      'would remove (1): drop',
      '',
    ].join('\n'))
    const json = await daemon.ctlJson<unknown>(['apply', file('after.json'), '--prune', '--dry-run'])
    assert.deepEqual(json, { added: ['new'], updated: [{ name: 'change', fields: ['args', 'priority'] }], removed: ['drop'] })
    const without = await daemon.ctlJson<{ removed: string[] }>(['apply', file('after.json'), '--dry-run'])
    assert.deepEqual(without.removed, [], 'without --prune nothing would be removed')
    assert.deepEqual(await snapshot(), before, 'nothing changed: the same tasks, no new event')

    const applied = await daemon.ctl(['apply', file('after.json'), '--prune'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(applied.stdout, /1 added, 1 updated, 1 removed/)
    const again = await daemon.ctl(['apply', file('after.json'), '--prune', '--dry-run'])
    assert.match(again.stdout, /no change \(dry run\)\n$/)
  })
})
