// The intake of task inputs: validated as they come, resolved against their part's folder or the
// last one's, every problem named by its position in the whole apply.
import assert from 'node:assert/strict'
import { dirname } from 'node:path'
import { describe, it } from 'node:test'
import { applyLabel, TaskIntake } from '../../src/api/task-intake.js'
import { DomainError } from '../../src/core/errors.js'
import { FIXTURES } from '../helpers/daemon-process.js'
import { FakeClock } from '../helpers/fakes.js'

const REPO = dirname(FIXTURES.replace(/\/$/, ''))

function intake(): TaskIntake {
  return new TaskIntake({ clock: new FakeClock(), totalMemory: 8 * 1024 ** 3 }, applyLabel)
}

async function problems(work: TaskIntake, baseDir: string): Promise<string[]> {
  try {
    await work.finish(baseDir)
  } catch (error) {
    assert.ok(error instanceof DomainError && error.code === 'invalid', String(error))
    return error.message.split('\n')
  }
  return assert.fail('expected the intake to be refused')
}

describe('task intake', () => {
  it('resolves a part against its own folder, and a part without one against the last part\'s', async () => {
    const work = intake()
    work.take([{ name: 'early', script: 'ok.sh' }], undefined)
    work.take([{ name: 'own', script: 'fixtures/ok.sh' }], REPO)
    const specs = await work.finish(FIXTURES)
    assert.deepEqual(specs.map((s) => [s.name, s.script]), [['early', `${REPO}/fixtures/ok.sh`], ['own', `${REPO}/fixtures/ok.sh`]])
  })

  it('keeps input order and counts every input, valid or not', async () => {
    const work = intake()
    work.take([{ name: 'a', script: 'ok.sh' }, { name: 'b' }], FIXTURES)
    work.take([{ name: 'c', script: 'ok.sh', priority: 'high' }], FIXTURES)
    assert.equal(work.size, 3)
    assert.deepEqual(await problems(work, FIXTURES), ['tasks[1] (b).script: expected a path to an executable file, got undefined'])
  })

  it('names each problem by its place in the whole apply, whichever step finds it', async () => {
    const work = intake()
    work.take([{ name: 'fine', script: 'ok.sh' }, { name: 'late', script: 'ok.sh', at: '+1h', deadline: '+1m' }], FIXTURES)
    work.take([42, { name: 'lost', script: 'missing.sh' }], undefined)
    const found = await problems(work, FIXTURES)
    assert.equal(found.length, 3, found.join('\n'))
    assert.match(found[0] ?? '', /^tasks\[1\] \(late\)\.deadline: must not be before at/)
    assert.match(found[1] ?? '', /^tasks\[2\]\.value: /)
    assert.match(found[2] ?? '', /^tasks\[3\] \(lost\)\.script: .*missing\.sh does not exist/)
  })

  it('gives a lone task (tasks.add) its problems without a position', async () => {
    const work = new TaskIntake({ clock: new FakeClock(), totalMemory: 1 }, () => '')
    work.take([{ name: 'solo', script: 'ok.sh', priority: 'urgent' }], FIXTURES)
    assert.deepEqual(await problems(work, FIXTURES), ['priority: expected high|medium|low, got "urgent"'])
  })

  it('refuses a cwd that is missing or not a folder, listing it with every other problem of the apply', async () => {
    const work = intake()
    work.take([
      { name: 'gone', script: 'ok.sh', cwd: '/no/such/folder' },
      { name: 'file', script: 'ok.sh', cwd: FIXTURES + 'ok.sh' },
      { name: 'far', script: 'ok.sh', at: '+3000000d', deadline: '+3000001d' },
      { name: 'here', script: 'ok.sh', cwd: FIXTURES },
    ], FIXTURES)
    assert.deepEqual(await problems(work, FIXTURES), [
      'tasks[2] (far).at: expected a date from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, got "+3000000d"',
      'tasks[2] (far).deadline: expected a date from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, got "+3000001d"',
      'tasks[0] (gone).cwd: no such folder "/no/such/folder"',
      `tasks[1] (file).cwd: ${JSON.stringify(FIXTURES + 'ok.sh')} is not a folder`,
    ])
  })
})
