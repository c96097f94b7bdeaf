// End to end: every ctl verb over `--url ws://... --token T` instead of the control socket, within the token's scope.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { CLI, DaemonProcess, fixture, runCli, type CtlResult } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'
import { createToken, within, wsUrl, type CreatedToken, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

describe('ctl over --url and --token', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  /** An empty home: if ctl fell back to a control socket, it would find no daemon there. */
  let nowhere: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let read: CreatedToken
  let admin: CreatedToken

  before(async () => {
    home = await tempDir()
    nowhere = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0', ...TOKEN_TASKS_AS_ROOT])
    read = await createToken(daemon, 'read')
    admin = await createToken(daemon, 'admin')
    const added = await daemon.ctl(['add', 'seed', '--script', fixture('ok.sh'), '--at', '+1h'])
    assert.equal(added.code, 0, added.stderr)
  })
  after(async () => {
    await daemon.cleanup()
    await home.remove()
    await nowhere.remove()
  })

  const remote = (token: string | undefined, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CtlResult> =>
    runCli(['ctl', '--url', wsUrl(daemon.port), ...(token === undefined ? [] : ['--token', token]), ...args],
      { env: { SUPERVISOR_HOME: nowhere.path, SUPERVISOR_TOKEN: '', ...env } })
  const json = async <T>(token: string, args: string[]): Promise<T> => {
    const result = await remote(token, [...args, '--json'])
    assert.equal(result.code, 0, result.stderr)
    return JSON.parse(result.stdout) as T
  }

  it('serves the listing verbs to a read token', async () => {
    assert.deepEqual((await json<TaskView[]>(read.token, ['list'])).map((t) => t.name), ['seed'])
    assert.equal((await json<TaskView>(read.token, ['status', 'seed'])).state, 'scheduled')
    const history = await json<TaskEvent[]>(read.token, ['history', 'seed'])
    assert.deepEqual(history.map((e) => e.type), ['task.added'])
    assert.ok(Array.isArray(await json<unknown[]>(read.token, ['errors'])))
    const table = await remote(read.token, ['list'])
    assert.match(table.stdout, /seed\s+scheduled/)
  })

  it('refuses every change to a read token with exit 1, naming the need for admin', async () => {
    for (const args of [
      ['add', 'nope', '--script', fixture('ok.sh')],
      ['run', 'seed'],
      ['stop', 'seed'],
      ['remove', 'seed'],
      ['replay', 'seed'],
    ]) {
      const refused = await remote(read.token, args)
      assert.equal(refused.code, 1, `${args.join(' ')}: ${refused.stdout}`)
      assert.match(refused.stderr, /admin/, args.join(' '))
    }
    assert.deepEqual((await daemon.ctlJson<TaskView[]>(['list'])).map((t) => [t.name, t.state]), [['seed', 'scheduled']])
  })

  it('lets an admin token add, run, stop, remove and replay', async () => {
    const added = await remote(admin.token, ['add', 'remote', '--script', fixture('sleep.sh'), '--at', '+1h', '--', '30'])
    assert.equal(added.code, 0, added.stderr)
    assert.equal((await remote(admin.token, ['run', 'remote'])).code, 0)
    await daemon.waitForType('run.started', 'remote')
    assert.equal((await remote(admin.token, ['stop', 'remote'])).code, 0)
    await daemon.waitForType('task.stopped', 'remote')
    assert.equal((await remote(admin.token, ['remove', 'remote'])).code, 0)
    const removed = await daemon.waitForType('task.removed', 'remote')
    const replayed = await remote(admin.token, ['replay', 'remote'])
    assert.equal(replayed.code, 0, replayed.stderr)
    await daemon.waitForType('run.started', 'remote', (e) => e.seq > removed.seq)
    assert.equal((await remote(admin.token, ['stop', 'remote'])).code, 0)
    await daemon.waitForType('task.stopped', 'remote', (e) => e.seq > removed.seq)
  })

  it('keeps token management to the control socket, even for admin', async () => {
    const before = await daemon.ctlJson<unknown[]>(['token', 'list'])
    for (const args of [['token', 'create', '--scope', 'admin'], ['token', 'list'], ['token', 'revoke', read.id]]) {
      const refused = await remote(admin.token, args)
      assert.equal(refused.code, 1, args.join(' '))
      assert.match(refused.stderr, /control socket/)
    }
    assert.deepEqual(await daemon.ctlJson<unknown[]>(['token', 'list']), before)
  })

  it('exits 1 on a wrong or missing token, and takes $SUPERVISOR_TOKEN as the default', async () => {
    for (const token of ['svt_wrong', undefined]) {
      const refused = await remote(token, ['list'])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /401/)
    }
    const fromEnv = await remote(undefined, ['list', '--json'], { SUPERVISOR_TOKEN: read.token })
    assert.equal(fromEnv.code, 0, fromEnv.stderr)
    const names = (JSON.parse(fromEnv.stdout) as TaskView[]).map((t) => t.name).sort()
    assert.deepEqual(names, (await daemon.ctlJson<TaskView[]>(['list'])).map((t) => t.name).sort())
  })

  it('watches over the WebSocket API, one JSON event a line', async () => {
    const since = daemon.events.at(-1)?.seq ?? 0
    const watch = spawn(process.execPath, [CLI, 'ctl', '--url', wsUrl(daemon.port), '--token', read.token, 'watch', '--json', '--since', String(since)], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SUPERVISOR_HOME: nowhere.path },
    })
    const pid = watch.pid as number
    let stdout = ''
    watch.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)))
    try {
      const added = await daemon.ctl(['add', 'watched', '--script', fixture('ok.sh')])
      assert.equal(added.code, 0, added.stderr)
      await waitFor(() => stdout.includes('"task.succeeded"'), 'watch to print the success of watched')
      await daemon.waitForType('task.succeeded', 'watched')
      const events = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as TaskEvent)
      assert.deepEqual(events.map((e) => [e.seq, e.type, e.task]), daemon.events.filter((e) => e.seq > since).map((e) => [e.seq, e.type, e.task]))
      process.kill(pid, 'SIGINT')
      assert.equal(await within(exited, 5000, 'watch to exit on SIGINT'), 0)
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })
})
