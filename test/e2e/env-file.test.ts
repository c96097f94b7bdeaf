// End to end: a task's envFile is read at each start (an edit counts from the next run), its own env wins
// over it, a missing file fails that start with a message naming it (the daemon goes on), and a task
// running as nobody is not given a root-only file.
import assert from 'node:assert/strict'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

const asRoot = process.getuid?.() === 0

describe('env files', () => {
  const suite = daemonForSuite(['--min-free-memory', '0'])

  it('read at each start; env wins over it', { timeout: 30_000 }, async () => {
    const { daemon, work } = suite
    const envFile = join(work, 'app.env')
    const out = join(work, 'out.txt')
    await writeFile(envFile, 'GREETING=hello\nMODE=from-file\n')
    await daemon.add('greet', ['--script', fixture('env-to.sh'), '--env-from', envFile, '--env', 'MODE=from-env', '--', out])
    await daemon.waitForType('task.succeeded', 'greet')
    assert.equal(await readFile(out, 'utf8'), 'hello from-env\n')
    await writeFile(envFile, 'GREETING=bye\n')
    await daemon.ctl(['run', 'greet'])
    await daemon.waitForType('run.started', 'greet', (e) => e.attempt === 1 && daemon.eventsOf('run.started', 'greet').length === 2)
    await daemon.waitForType('task.succeeded', 'greet', (e) => e.seq > (daemon.eventsOf('run.started', 'greet')[1]?.seq ?? 0))
    assert.equal(await readFile(out, 'utf8'), 'bye from-env\n')
    const status = await daemon.ctl(['status', 'greet'])
    assert.match(status.stdout, new RegExp(`^env file:\\s+${envFile}$`, 'm'))
    assert.doesNotMatch(status.stdout, /bye|hello/, 'never its values')
  })

  it('a missing file fails that start, naming the file; the daemon goes on', { timeout: 30_000 }, async () => {
    const { daemon, work } = suite
    const missing = join(work, 'nowhere.env')
    await daemon.add('lost', ['--script', fixture('ok.sh'), '--env-from', missing, '--retries', '0'])
    const exited = await daemon.waitForType('run.exited', 'lost')
    assert.equal(exited.error, `envFile ${missing}: no such file`)
    await daemon.waitForType('task.failed', 'lost')
    const info = await daemon.ctl(['info'])
    assert.equal(info.code, 0)
  })

  it('a task running as nobody is not given a root-only file', { timeout: 30_000, skip: asRoot ? false : 'needs a root daemon' }, async () => {
    const { daemon, work } = suite
    const secret = join(work, 'root-only.env')
    await writeFile(secret, 'GREETING=s3cret\n')
    await chmod(secret, 0o600)
    await daemon.add('sneaky', ['--script', fixture('ok.sh'), '--user', 'nobody', '--env-from', secret, '--retries', '0'])
    const exited = await daemon.waitForType('run.exited', 'sneaky')
    assert.match(exited.error ?? '', /envFile .*root-only\.env: user "nobody" could not read it/)
    assert.doesNotMatch(JSON.stringify(daemon.events), /s3cret/)
  })
})
