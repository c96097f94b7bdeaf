// End to end: `ctl reload` and SIGHUP read the daemon's --config file again. Tasks are applied as
// `ctl apply` does, live settings take effect at once (a second slot), the listener's address is named
// as needing a restart; a bad file changes nothing and says why; no --config, nothing to reload.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

type Dir = Awaited<ReturnType<typeof tempDir>>
const sleeper = (name: string): object => ({ name, script: fixture('sleep.sh'), args: ['30'] })

describe('live reload', () => {
  let home: Dir
  let work: Dir
  let daemon: DaemonProcess
  let config = ''
  const write = (document: unknown): Promise<void> => writeFile(config, typeof document === 'string' ? document : JSON.stringify(document))

  before(async () => {
    home = await tempDir()
    work = await tempDir()
    config = join(work.path, 'ecosystem.json')
    await write({ supervisor: { maxConcurrent: 1, killTimeout: '1s' }, tasks: [sleeper('first'), sleeper('second')] })
    daemon = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--config', config])
  })

  after(async () => {
    await daemon?.cleanup()
    await home?.remove()
    await work?.remove()
  })

  it('applies the new tasks and the live settings at once; names what needs a restart', { timeout: 30_000 }, async () => {
    await daemon.waitForType('run.started', 'first')
    assert.match((await daemon.task('second')).waitingReason ?? '', /1\/1 running/)
    await write({ supervisor: { maxConcurrent: 2, killTimeout: '1s', host: '127.0.0.2' }, tasks: [sleeper('first'), sleeper('second'), sleeper('third')] })
    const reloaded = await daemon.ctl(['reload'])
    assert.equal(reloaded.code, 0, reloaded.stderr)
    assert.match(reloaded.stdout, /reloaded .*ecosystem\.json: 1 added, 0 updated/)
    assert.match(reloaded.stdout, /settings changed: maxConcurrent/)
    assert.match(reloaded.stdout, /needs a restart to change: host/)
    await daemon.waitForType('run.started', 'second')
    assert.equal(daemon.eventsOf('run.exited', 'first').length, 0, 'a second slot at once, beside the first run')
    assert.match((await daemon.task('third')).waitingReason ?? '', /2\/2 running/)
  })

  it('a bad file changes nothing and says why', { timeout: 30_000 }, async () => {
    await write({ supervisor: { maxConcurrent: 5 }, tasks: [sleeper('first'), { name: 'odd', script: fixture('ok.sh'), priority: 'urgent' }] })
    const refused = await daemon.ctl(['reload'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /priority: expected high\|medium\|low/)
    await write('{ "tasks": [ ')
    const broken = await daemon.ctl(['reload'])
    assert.equal(broken.code, 1)
    assert.match(broken.stderr, /ecosystem\.json/)
    const names = (await daemon.ctlJson<{ name: string }[]>(['list'])).map((t) => t.name).sort()
    assert.deepEqual(names, ['first', 'second', 'third'])
    assert.match((await daemon.task('third')).waitingReason ?? '', /2\/2 running/, 'maxConcurrent still 2')
  })

  it('SIGHUP reloads as ctl reload does', { timeout: 30_000 }, async () => {
    await write({ supervisor: { maxConcurrent: 3, killTimeout: '1s' }, tasks: [sleeper('first'), sleeper('second'), sleeper('third'), sleeper('fourth')] })
    process.kill(daemon.pid, 'SIGHUP')
    await daemon.waitForType('task.added', 'fourth')
    await daemon.waitForType('run.started', 'third')
    await waitFor(() => /reloaded .*1 added/.test(daemon.output.text), 'the reload line in the daemon output')
  })
})

describe('reload without --config', () => {
  const suite = daemonForSuite()
  it('says there is no file to read again', { timeout: 30_000 }, async () => {
    const result = await suite.daemon.ctl(['reload'])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /started without --config/)
  })
})
