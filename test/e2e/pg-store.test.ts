// End to end: a daemon keeping its queue in PostgreSQL (a throwaway PostgreSQL 15 server). Tasks run
// and the queue, history and tokens survive a restart; a second daemon on the same database is
// refused; `ctl info` names the store without its password.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture, runCli } from '../helpers/daemon-process.js'
import { pgMissing, startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { tempDir } from '../helpers/temp-dir.js'

describe('a daemon on PostgreSQL', { skip: pgMissing }, () => {
  let server: TestPostgres
  let url = ''
  const homes: Awaited<ReturnType<typeof tempDir>>[] = []
  const daemons: DaemonProcess[] = []
  const start = async (): Promise<DaemonProcess> => {
    const home = await tempDir()
    homes.push(home)
    const daemon = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--store', url])
    daemons.push(daemon)
    return daemon
  }

  before(async () => {
    server = await startPostgres()
    url = await server.createDatabase()
  })
  after(async () => {
    for (const daemon of daemons) await daemon.cleanup()
    for (const home of homes) await home.remove()
    await server?.stop()
  })

  it('runs tasks, and keeps the queue and its history across a restart', { timeout: 60_000 }, async () => {
    const first = await start()
    const info = await first.ctlJson<{ store: string }>(['info'])
    assert.equal(info.store, url)
    await first.add('hello', ['--script', fixture('ok.sh')])
    await first.add('later', ['--script', fixture('ok.sh'), '--at', '+1h'])
    await first.waitForType('task.succeeded', 'hello')
    const { token } = await first.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])
    assert.equal(await first.stop(), 0)
    const second = await start()
    const tasks = await second.ctlJson<{ name: string; state: string }[]>(['list'])
    assert.deepEqual(tasks.map((t) => `${t.name} ${t.state}`).sort(), ['hello succeeded', 'later scheduled'])
    const history = await second.ctlJson<{ type: string }[]>(['history', 'hello'])
    assert.ok(history.some((e) => e.type === 'task.succeeded'), 'the history came along')
    const tokens = await second.ctlJson<{ id: string }[]>(['token', 'list'])
    assert.equal(tokens.length, 1)
    assert.ok(token.length > 0)
  })

  it('supervisor migrate copies a LevelDB home into PostgreSQL: tasks, history, errors, seqs', { timeout: 60_000 }, async () => {
    const home = await tempDir()
    homes.push(home)
    const level = await DaemonProcess.start(home.path, ['--min-free-memory', '0'])
    daemons.push(level)
    await level.add('done', ['--script', fixture('ok.sh')])
    await level.add('broken', ['--script', fixture('fail.sh'), '--retries', '0'])
    await level.add('waiting', ['--script', fixture('ok.sh'), '--at', '+1h'])
    await level.waitForType('task.failed', 'broken')
    await level.waitForType('task.succeeded', 'done')
    const before = await level.ctlJson<{ seq: number }[]>(['history'])
    assert.equal(await level.stop(), 0)
    const target = await server.createDatabase()
    const copied = await runCli(['migrate', '--from', home.path, '--to', target])
    assert.equal(copied.code, 0, copied.stderr)
    assert.match(copied.stdout, /copied 3 tasks, \d+ events/)
    const again = await runCli(['migrate', '--from', home.path, '--to', target])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already holds a queue/)
    const moved = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--store', target])
    daemons.push(moved)
    const tasks = await moved.ctlJson<{ name: string; state: string }[]>(['list'])
    assert.deepEqual(tasks.map((t) => `${t.name} ${t.state}`).sort(), ['broken failed', 'done succeeded', 'waiting scheduled'])
    const after = await moved.ctlJson<{ seq: number }[]>(['history'])
    assert.deepEqual(after.slice(0, before.length).map((e) => e.seq), before.map((e) => e.seq), 'the same events, the same seqs')
    const errors = await moved.ctlJson<{ task: string }[]>(['errors'])
    assert.ok(errors.some((e) => e.task === 'broken'))
  })

  it('refuses a second daemon of the same node name on the same database', { timeout: 60_000 }, async () => {
    const home = await tempDir()
    homes.push(home)
    await assert.rejects(DaemonProcess.start(home.path, ['--store', url]), /node "[^"]+" is already running on postgres:\/\/supervisor@127\.0\.0\.1:\d+\/t\d+/)
  })

  it('refuses a second daemon on the same home, whatever its database', { timeout: 60_000 }, async () => {
    const running = daemons.find((d) => d.child.exitCode === null && d.child.signalCode === null) as DaemonProcess
    const other = await server.createDatabase()
    await assert.rejects(DaemonProcess.start(running.home, ['--store', other]), /another daemon is already running on/)
  })
})
