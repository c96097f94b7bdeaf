// The ecosystem file: one schema for tasks and settings, all-or-nothing, every error named by task and field.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { DomainError } from '../../src/core/errors.js'
import { loadEcosystem, parseEcosystem } from '../../src/config/ecosystem.js'
import { readEcosystemForApply } from '../../src/config/ecosystem-file.js'
import { renderSchema } from '../../src/config/json-schema.js'
import { resolveTask } from '../../src/config/task-input.js'
import { tempDir } from '../helpers/temp-dir.js'

const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url))

function problems(document: unknown): string[] {
  try {
    parseEcosystem(document, '/srv')
  } catch (error) {
    assert.ok(error instanceof DomainError && error.code === 'invalid')
    return error.message.split('\n')
  }
  assert.fail('expected the document to be refused')
}

describe('ecosystem files', () => {
  it('accepts the shipped example', async () => {
    const ecosystem = await loadEcosystem(repo('ecosystem.example.json'))
    assert.ok(ecosystem.tasks.length >= 3)
    assert.equal(ecosystem.baseDir, repo('').replace(/\/$/, ''))
  })

  it('lists every problem, each named by task index, task name and field', () => {
    const found = problems({
      tasks: [
        { name: 'ok', script: 'a.sh' },
        { name: 'bad', script: 'b.sh', priority: 'urgent', at: 'tomorrow' },
        { name: 'x y', script: 'c.sh' },
        { name: 'extra', script: 'd.sh', colour: 'blue' },
      ],
    })
    assert.deepEqual(found.sort(), [
      'tasks[1] (bad).at: expected an ISO 8601 date, "now", "+DURATION" or "manual", got "tomorrow"',
      'tasks[1] (bad).priority: expected high|medium|low, got "urgent"',
      'tasks[2] (x y).name: expected 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit, got "x y"',
      'tasks[3] (extra).colour: unknown field',
    ])
  })

  it('refuses duplicate names, a missing tasks array and bad settings', () => {
    assert.deepEqual(problems({ tasks: [{ name: 'a', script: 'x' }, { name: 'a', script: 'y' }] }), ['tasks[1] (a).name: duplicate name "a"'])
    assert.match(problems({})[0] ?? '', /^tasks: /)
    assert.match(problems({ supervisor: { maxCpu: 120 }, tasks: [] })[0] ?? '', /^supervisor\.maxCpu: expected a percentage/)
    assert.match(problems({ supervisor: { colour: 1 }, tasks: [] })[0] ?? '', /^supervisor\.colour: unknown field/)
  })

  it('refuses a cron expression that is not 5 or 6 valid fields', () => {
    assert.match(problems({ tasks: [{ name: 'c', script: 'x', cron: '* * *' }] })[0] ?? '', /^tasks\[0\] \(c\)\.cron: expected 5 or 6 fields/)
    assert.match(problems({ tasks: [{ name: 'c', script: 'x', cron: '61 * * * *' }] })[0] ?? '', /^tasks\[0\] \(c\)\.cron: /)
  })

  it('resolves relative scripts against the file\'s folder and keeps the digest stable across re-applies', () => {
    const { tasks } = parseEcosystem({ tasks: [{ name: 'a', script: 'bin/a.sh', at: '+1h' }] }, '/srv/app')
    const input = tasks[0]
    assert.ok(input !== undefined)
    const first = resolveTask(input, { now: 1_000, baseDir: '/srv/app', totalMemory: 1 })
    const later = resolveTask(input, { now: 9_000, baseDir: '/srv/app', totalMemory: 1 })
    assert.equal(first.script, '/srv/app/bin/a.sh')
    assert.equal(first.at, 1_000 + 3_600_000)
    assert.equal(first.digest, later.digest, 'the same file applied later is the same definition')
    const moved = resolveTask(input, { now: 1_000, baseDir: '/srv/other', totalMemory: 1 })
    assert.notEqual(first.digest, moved.digest, 'the same relative path elsewhere is another script')
  })

  it('gives the same digest to the same definition whatever the order of its keys', () => {
    const ctx = { now: 0, baseDir: '/srv', totalMemory: 1 }
    const { tasks } = parseEcosystem({ tasks: [
      { script: 'a.sh', name: 'a', env: { B: '1', A: '2' }, priority: 'high' },
      { priority: 'high', env: { A: '2', B: '1' }, name: 'a2', script: 'a.sh' },
    ] }, '/srv')
    const [first, second] = tasks.map((t) => resolveTask({ ...t, name: 'same' }, ctx))
    assert.equal(first?.digest, second?.digest)
    const changed = resolveTask({ ...(tasks[0] as NonNullable<(typeof tasks)[0]>), name: 'same', priority: 'low' }, ctx)
    assert.notEqual(changed.digest, first?.digest)
  })

  it('gives a definition the digest earlier releases stored for it (else every re-apply would count as a change)', () => {
    const { tasks } = parseEcosystem({ tasks: [
      { name: 'a', script: 'bin/a.sh', at: '+1h' },
      { name: 'b', script: 'b.sh', env: { Z: '1', A: '2', M: '' }, args: ['x', 'y'], priority: 'low', retries: 0, timeout: '5s', memory: '64M', backoff: { base: '1s' } },
      { name: 'c', script: 'c.sh', cron: '*/5 * * * *', tz: 'Europe/Paris', env: { ONLY: '1' }, cwd: 'w', user: 'nobody' },
    ] }, '/srv/app')
    const digests = tasks.map((t) => resolveTask(t, { now: 1_000, baseDir: '/srv/app', totalMemory: 2 ** 30 }).digest)
    // Computed by the release before digests were made without a JSON replacer.
    assert.deepEqual(digests, ['I6JOKx6z1Duxf7xSjuHgN-', 'aL5Qtqiskgy7ZSPwf_cfFB', 'PsXluTpFNU8xIYicTWF-5V'])
  })

  it('ships a JSON Schema identical to the one generated from the validating schema', async () => {
    const shipped = await readFile(repo('ecosystem.schema.json'), 'utf8')
    assert.equal(shipped, renderSchema(), 'run npm run build to regenerate ecosystem.schema.json')
    const example = JSON.parse(await readFile(repo('ecosystem.example.json'), 'utf8')) as { $schema?: string }
    assert.equal(example.$schema, './ecosystem.schema.json')
  })
})

describe('reading an ecosystem file for ctl apply', () => {
  /** What `readEcosystemForApply` makes of a file holding `text`: its tasks, or its refusal. */
  async function read(text: string | null): Promise<{ tasks?: unknown[]; baseDir?: string; error?: string }> {
    const dir = await tempDir()
    try {
      const file = join(dir.path, 'eco.json')
      if (text !== null) await writeFile(file, text)
      const { tasks, baseDir } = await readEcosystemForApply(file)
      return { tasks, baseDir: baseDir === dir.path ? 'its folder' : baseDir }
    } catch (error) {
      assert.ok(error instanceof DomainError && error.code === 'invalid', String(error))
      return { error: error.message }
    } finally {
      await dir.remove()
    }
  }

  it('hands over the tasks unchecked (the daemon checks each), with the file\'s folder', async () => {
    const tasks = [{ name: 'a', script: 'a.sh' }, { name: 'b', priority: 'urgent' }]
    assert.deepEqual(await read(JSON.stringify({ tasks })), { tasks, baseDir: 'its folder' })
    assert.deepEqual(await read(JSON.stringify({ $schema: './ecosystem.schema.json', tasks })), { tasks, baseDir: 'its folder' })
    assert.deepEqual(await read(JSON.stringify({ supervisor: { port: 7070 }, tasks })), { tasks, baseDir: 'its folder' })
  })

  it('checks everything else of the file, naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ tasks: 'all' }, /^tasks: expected an array of tasks/],
      [{ tasks: [], colour: 1 }, /^colour: unknown field/],
      [{ $schema: 3, tasks: [] }, /^\$schema: /],
      [{ supervisor: { colour: 1 }, tasks: [] }, /^supervisor\.colour: unknown field/],
      [{ supervisor: { maxCpu: 'lots' }, tasks: [] }, /^supervisor\.maxCpu: /],
      [{}, /^tasks: /],
      [[], /expected/],
      [null, /expected/],
    ]
    for (const [document, expected] of cases) {
      const { error } = await read(JSON.stringify(document))
      assert.match(error ?? 'accepted', expected, JSON.stringify(document))
    }
  })

  it('refuses a file that is not JSON, or cannot be read, naming the file', async () => {
    assert.match((await read('{"tasks": [')).error ?? '', /eco\.json: not valid JSON/)
    assert.match((await read(null)).error ?? '', /eco\.json: cannot read \(ENOENT\)/)
  })
})
