// End to end: `ctl status NAME` shows the whole definition (cron and its zone, timeout, memory, folder,
// env names but never their values, user, the current run's uptime, the log files), arguments quoted
// as a shell would need them.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

describe('ctl status', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0'])

  it('shows the whole definition of a task, env names without values, args quoted for a shell', { timeout: 30_000 }, async () => {
    const { daemon, work } = suite
    await daemon.add('full', [
      '--script', fixture('ok.sh'), '--cron', '0 3 * * *', '--tz', 'Europe/Paris', '--overlap', 'queue', '--timeout', '90s', '--memory', '256M',
      '--cwd', work, '--env', 'API_KEY=s3cret', '--env', 'MODE=fast', '--', 'plain', 'two words', '', "it's",
    ])
    const status = await daemon.ctl(['status', 'full'])
    assert.equal(status.code, 0, status.stderr)
    const field = (name: string): string => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status.stdout)?.[1] ?? `(no ${name} line)`
    assert.equal(field('cron'), '0 3 * * * (Europe/Paris)')
    assert.equal(field('cron slots'), 'overlap: queue, missed: once')
    assert.equal(field('timeout'), '1m 30s')
    assert.equal(field('memory'), '256M')
    assert.equal(field('cwd'), work)
    assert.equal(field('env'), 'API_KEY MODE')
    assert.equal(field('user'), '-')
    assert.equal(field('script'), `${fixture('ok.sh')} plain 'two words' '' 'it'\\''s'`)
    assert.equal(field('stdout log'), join(daemon.home, 'logs', 'full.out.log'))
    assert.equal(field('stderr log'), join(daemon.home, 'logs', 'full.err.log'))
    assert.doesNotMatch(status.stdout, /s3cret/, 'env values never shown')
    const json = await daemon.task('full')
    assert.equal(json.tz, 'Europe/Paris')
    assert.deepEqual(json.envNames, ['API_KEY', 'MODE'])
    assert.doesNotMatch(JSON.stringify(json), /s3cret/)
  })

  it('shows how long the current run has been up', { timeout: 30_000 }, async () => {
    await suite.daemon.add('up', ['--script', fixture('sleep.sh'), '--', '30'])
    await suite.daemon.waitForType('run.started', 'up')
    await new Promise((resolve) => setTimeout(resolve, 1200))
    const status = await suite.daemon.ctl(['status', 'up'])
    assert.match(status.stdout, /^uptime:\s+[1-9]\d*s \(since /m)
    assert.equal((await suite.daemon.ctl(['stop', 'up'])).code, 0)
  })
})
