// End to end: refused requests change nothing and name their field; the home is private; signals stop cleanly.
import assert from 'node:assert/strict'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture, runCli, runCliWithin } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'

type Dir = Awaited<ReturnType<typeof tempDir>>

/** The pids a pid-sleep.sh or stubborn.sh run appended to `file` (none if it does not exist). */
const pidsIn = async (file: string): Promise<number[]> =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '').map(Number)
const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']

describe('bad input and the daemon boundary', () => {
  let work: Dir
  let home: string
  let daemon: DaemonProcess
  const daemons: DaemonProcess[] = []
  const dirs: Dir[] = []
  const pidFiles: string[] = []

  const start = async (path: string, extra: string[] = []): Promise<DaemonProcess> => {
    const started = await DaemonProcess.start(path, [...FLAGS, ...extra])
    daemons.push(started)
    return started
  }
  const dir = async (): Promise<Dir> => {
    const made = await tempDir()
    dirs.push(made)
    return made
  }

  before(async () => {
    work = await dir()
    // A home that does not exist yet: the daemon creates it, with its own mode.
    home = join(work.path, 'home')
    daemon = await start(home)
    for (const args of [['existing', '--script', fixture('ok.sh'), '--at', '+1h'], ['done', '--script', fixture('ok.sh')]]) {
      const added = await daemon.ctl(['add', ...args])
      assert.equal(added.code, 0, added.stderr)
    }
    await daemon.waitForType('task.succeeded', 'done')
    await writeFile(join(work.path, 'noexec.sh'), '#!/bin/sh\necho no\n')
    await chmod(join(work.path, 'noexec.sh'), 0o644)
    await writeFile(join(work.path, 'dash.json'), JSON.stringify({ tasks: [{ name: '-x', script: fixture('ok.sh') }] }))
    await writeFile(join(work.path, 'all-at-once.json'), JSON.stringify({ tasks: [
      { name: 'a', script: fixture('ok.sh'), priority: 'urgent' },
      { name: 'b', script: join(work.path, 'missing.sh') },
      { name: 'b', script: fixture('ok.sh') },
    ] }))
    await writeFile(join(work.path, 'spawn-failures.json'), JSON.stringify({ tasks: [
      { name: 'nul', script: fixture('ok.sh'), args: ['a\0b'] },
      { name: 'long', script: fixture('ok.sh'), args: ['x'.repeat(131_072)] },
      { name: 'keys', script: fixture('ok.sh'), env: { '': '1', 'A=B': '2' } },
      { name: 'folder', script: fixture('ok.sh'), cwd: '/no/such/folder' },
    ] }))
  })
  after(async () => {
    for (const started of daemons) await started.cleanup()
    // Runs the daemon's events never announced (say, started during a faulty shutdown) must not outlive us.
    for (const file of pidFiles) for (const pid of await pidsIn(file)) if (alive(-pid)) process.kill(-pid, 'SIGKILL')
    for (const made of dirs) await made.remove()
  })

  /** Run `ctl ARGS`; it must exit with `code`, say `message` on stderr, and leave tasks and history as they were. */
  async function assertRefused(args: string[], message: RegExp, code = 1): Promise<void> {
    const snapshot = (): Promise<string[]> =>
      Promise.all([daemon.ctl(['list', '--json']), daemon.ctl(['history', '--json'])]).then((results) => {
        for (const r of results) assert.equal(r.code, 0, `the daemon keeps serving: ${r.stderr}`)
        return results.map((r) => r.stdout)
      })
    const [listBefore, historyBefore] = await snapshot()
    const result = await daemon.ctl(args)
    assert.equal(result.code, code, `ctl ${args.join(' ')}: ${result.stdout}${result.stderr}`)
    assert.match(result.stderr, message)
    const [listAfter, historyAfter] = await snapshot()
    assert.equal(listAfter, listBefore, 'ctl list --json is unchanged')
    assert.equal(historyAfter, historyBefore, 'no new events')
  }

  const ok = (): string => fixture('ok.sh')
  const refusals: [string, () => string[], RegExp][] = [
    ['an unknown priority', () => ['add', 'p1', '--script', ok(), '--priority', 'urgent'], /priority: .*urgent/],
    ['an unparseable --at', () => ['add', 'p1', '--script', ok(), '--at', 'tomorrowish'], /\bat: .*tomorrowish/],
    ['a deadline before at', () => ['add', 'p1', '--script', ok(), '--at', '+2h', '--deadline', '+1h'], /deadline: /],
    ['a missing script', () => ['add', 'p1', '--script', join(work.path, 'missing.sh')], /script: .*missing\.sh/],
    ['a non-executable script', () => ['add', 'p1', '--script', join(work.path, 'noexec.sh')], /script: .*noexec\.sh.*not executable/],
    ['a name with a space', () => ['add', 'bad name', '--script', ok()], /name: .*bad name/],
    ['a name starting with a dot', () => ['add', '.hidden', '--script', ok()], /name: /],
    ['a 129-character name', () => ['add', 'a'.repeat(129), '--script', ok()], /name: /],
    ['a name starting with "-" (ecosystem file)', () => ['apply', join(work.path, 'dash.json')], /name: .*"-x"/],
    ['a duplicate name', () => ['add', 'existing', '--script', ok()], /name: .*"existing".*exists/],
    ['status of an unknown task', () => ['status', 'ghost'], /"ghost" not found/],
    ['run of an unknown task', () => ['run', 'ghost'], /"ghost" not found/],
    ['stop of an unknown task', () => ['stop', 'ghost'], /"ghost" not found/],
    ['remove of an unknown task', () => ['remove', 'ghost'], /"ghost" not found/],
    // Dates: one range, 1970..9999, whatever the form; a relative one counted from now.
    ['an --at of +100000000d (an invalid Date)', () => ['add', 'p1', '--script', ok(), '--at', '+100000000d'], /^error: at: expected a date from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59\.999Z, got "\+100000000d"$/m],
    ['an --at of +3000000d (past year 9999 from now)', () => ['add', 'p1', '--script', ok(), '--at', '+3000000d'], /^error: at: expected a date from .*, got "\+3000000d"$/m],
    ['a cron task with an --at past year 9999', () => ['add', 'p1', '--script', ok(), '--cron', '* * * * *', '--at', '+3000000d'], /^error: at: expected a date from /m],
    ['a --deadline past year 9999', () => ['add', 'p1', '--script', ok(), '--deadline', '+3000000d'], /^error: deadline: expected a date from .*, got "\+3000000d"$/m],
    // Each flag named with what it expects, and nothing else said (no nested cron errors).
    ['an unknown --tz', () => ['add', 'p1', '--script', ok(), '--cron', '0 * * * *', '--tz', 'Mars/Olympus'], /^error: tz: expected an IANA time zone such as Europe\/Paris, got "Mars\/Olympus"\n$/],
    ['history --limit abc', () => ['history', '--limit', 'abc'], /^error: limit: expected a whole number from 1 to 100000, got "abc"\n$/],
    ['history --limit 0', () => ['history', '--limit', '0'], /^error: limit: expected a whole number from 1 to 100000, got 0\n$/],
    ['logs --lines abc', () => ['logs', 'existing', '--lines', 'abc'], /^error: lines: expected a whole number from 1 to 100000, got "abc"\n$/],
    ['a --timeout over 36500d', () => ['add', 'p1', '--script', ok(), '--timeout', '99999999d'], /^error: timeout: expected at most 36500d, got "99999999d"$/m],
    ['a missing --cwd', () => ['add', 'p1', '--script', ok(), '--cwd', join(work.path, 'nowhere')], /^error: cwd: no such folder ".*nowhere"$/m],
    ['a --cwd that is a file', () => ['add', 'p1', '--script', ok(), '--cwd', ok()], /^error: cwd: ".*ok\.sh" is not a folder$/m],
    ['an env name __proto__', () => ['add', 'p1', '--script', ok(), '--env', '__proto__=x'], /^error: env\.__proto__: expected an environment variable name .*, got "__proto__"$/m],
    ['an apply with a schema error, a missing script and a duplicate name: all three at once', () => ['apply', join(work.path, 'all-at-once.json')], new RegExp([
      /^error: tasks\[0\] \(a\)\.priority: expected high\|medium\|low, got "urgent"\n/,
      /tasks\[1\] \(b\)\.script: .*missing\.sh does not exist\n/,
      /tasks\[2\] \(b\)\.name: duplicate name "b"\n$/,
    ].map((r) => r.source).join(''))],
    ['an apply whose tasks fail only at spawn, listing every problem', () => ['apply', join(work.path, 'spawn-failures.json')], new RegExp([
      /^error: tasks\[0\] \(nul\)\.args\[0\]: expected a string without NUL bytes, got "a\\u0000b"\n/,
      /tasks\[1\] \(long\)\.args\[0\]: expected at most 131071 bytes, got 131072 bytes\n/,
      /tasks\[2\] \(keys\)\.env\[""\]: expected an environment variable name .*\n/,
      /tasks\[2\] \(keys\)\.env\["A=B"\]: expected an environment variable name .*\n/,
      /tasks\[3\] \(folder\)\.cwd: no such folder "\/no\/such\/folder"$/,
    ].map((r) => r.source).join(''), 'm')],
  ]
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} with exit 1, changing nothing`, { timeout: 30_000 }, () => assertRefused(args(), message))
  }

  it('exits 2 on an unknown flag, changing nothing', { timeout: 30_000 }, async () => {
    await assertRefused(['add', 'p2', '--script', ok(), '--bogus'], /bogus/, 2)
    await assertRefused(['list', '--bogus'], /bogus/, 2)
    await assertRefused(['add', 'p3', '--script', ok(), '--at', 'now', '--at', '+1h'], /^error: --at: given 2 times \(now, \+1h\); give it once$/m, 2)
  })

  it('after refusing an --at past year 9999, still lists its tasks, without the refused one', { timeout: 30_000 }, async () => {
    const refused = await daemon.ctl(['add', 'far', '--script', ok(), '--at', '+100000000d'])
    assert.equal(refused.code, 1, refused.stdout)
    assert.match(refused.stderr, /^error: at: /m)
    const list = await daemon.ctl(['list'])
    assert.equal(list.code, 0, list.stderr)
    assert.doesNotMatch(list.stdout, /\bfar\b/)
    assert.equal((await daemon.ctl(['status', 'far'])).code, 1, 'no task was added')
  })

  it('accepts a 128-character name, the longest allowed', { timeout: 30_000 }, async () => {
    const name = `b${'9'.repeat(127)}`
    const added = await daemon.ctl(['add', name, '--script', ok(), '--at', '+1h'])
    assert.equal(added.code, 0, added.stderr)
    assert.equal((await daemon.task(name)).name, name)
  })

  it('says no daemon is running when ctl finds none', { timeout: 30_000 }, async () => {
    const fresh = await dir()
    const listed = await runCli(['ctl', '--home', fresh.path, 'list'])
    assert.equal(listed.code, 1)
    assert.match(listed.stderr, /no daemon is running/)
  })

  it('refuses bad daemon flags and settings, naming the flag or setting (exit 1; a flag given twice: exit 2), and creates no home', { timeout: 60_000 }, async () => {
    const cases: [string[], RegExp, number][] = [
      [['--max-cpu', '120'], /^error: --max-cpu: expected a percentage from 0 to 100, got 120$/, 1],
      [['--port', 'abc'], /^error: --port: expected a port from 0 to 65535, got "abc"$/, 1],
      [['--tick', '0'], /^error: --tick: expected milliseconds from 1 to 60000, got 0$/, 1],
      [['--max-concurrent', '-1'], /^error: --max-concurrent: expected a whole number from 1 to 10000, got -1$/, 1],
      [['--min-free-memory', 'lots'], /^error: --min-free-memory: expected a size such as 512M, 2G, bytes or N%, got "lots"$/, 1],
      [['--kill-timeout', 'soon'], /^error: --kill-timeout: expected a duration such as 5s, got "soon"$/, 1],
      [['--kill-timeout', '0'], /^error: --kill-timeout: expected a duration such as 5s, got 0$/, 1],
    ]
    // A flag given twice is bad usage (exit 2), whichever of its values would be valid.
    cases.push([['--max-cpu', '50', '--max-cpu', '60'], /^error: --max-cpu: given 2 times \(50, 60\); give it once\nrun with --help for usage$/, 2])
    const settings = join(work.path, 'bad-settings.json')
    await writeFile(settings, JSON.stringify({ supervisor: { logMaxSize: 'huge', urgency: -1 }, tasks: [] }))
    cases.push([['--config', settings], /^error: supervisor\.urgency: expected a duration such as 5m, got -1\nsupervisor\.logMaxSize: expected a size such as 10M, got "huge"$/, 1])
    // Durations at most 36500d: a larger backoff made the core throw when a run failed.
    cases.push([['--kill-timeout', '36501d'], /^error: --kill-timeout: expected at most 36500d, got "36501d"$/, 1])
    const backoff = join(work.path, 'huge-backoff.json')
    await writeFile(backoff, JSON.stringify({ supervisor: { backoff: { base: '99999999d' } }, tasks: [] }))
    cases.push([['--config', backoff], /^error: supervisor\.backoff\.base: expected at most 36500d, got "99999999d"$/, 1])
    for (const [flags, message, code] of cases) {
      const fresh = join((await dir()).path, 'home')
      const port = flags.includes('--port') ? [] : ['--port', '0']
      const refused = await runCliWithin(['daemon', '--home', fresh, ...port, ...flags], 15_000)
      assert.equal(refused.timedOut, false, `${flags.join(' ')}: the daemon started`)
      assert.equal(refused.code, code, flags.join(' '))
      assert.match(refused.stderr.trim(), message)
      assert.equal(await stat(fresh).then(() => true, () => false), false, `${flags.join(' ')}: no home was created`)
    }
  })

  it('refuses a second daemon on the same home with exit 1, and the first keeps serving', { timeout: 30_000 }, async () => {
    const second = await runCliWithin(['daemon', '--home', home, '--port', '0'], 15_000)
    assert.equal(second.timedOut, false, `the second daemon started: ${second.stdout}`)
    assert.equal(second.code, 1)
    assert.match(second.stderr, /already running/)
    assert.doesNotMatch(second.stdout, /listening/)
    const status = await daemon.ctl(['status', 'existing'])
    assert.equal(status.code, 0, status.stderr)
  })

  it('creates the home with mode 0700 and the control socket with mode 0600', async () => {
    assert.equal((await stat(home)).mode & 0o777, 0o700)
    const socket = await stat(join(home, 'supervisor.sock'))
    assert.ok(socket.isSocket())
    assert.equal(socket.mode & 0o777, 0o600)
  })

  /** Every run a pid-recording fixture had (read from its file) is gone with its process group. */
  async function assertRunsEnded(pidFile: string): Promise<void> {
    const pids = await pidsIn(pidFile)
    assert.equal(pids.length, 1, `one run, not started again during shutdown: pids ${pids.join(', ')}`)
    for (const pid of pids) {
      assert.equal(alive(pid), false, `the task process ${pid} ended with the daemon`)
      await waitFor(() => !alive(-pid), `process group ${pid} to be gone`, 5000)
    }
  }

  it('exits 0 on SIGTERM and ends the running task', { timeout: 30_000 }, async () => {
    const own = await start((await dir()).path)
    const pidFile = join(work.path, 'long.pids')
    pidFiles.push(pidFile)
    const added = await own.ctl(['add', 'long', '--script', fixture('pid-sleep.sh'), '--', pidFile, '60'])
    assert.equal(added.code, 0, added.stderr)
    const { pid } = await own.waitForType('run.started', 'long')
    await waitFor(() => readFile(pidFile, 'utf8').then((t) => t.trim() === String(pid), () => false), 'the run to record its pid')
    assert.equal(await own.stop(), 0)
    await assertRunsEnded(pidFile)
  })

  it('on SIGTERM, SIGKILLs a task that ignores SIGTERM after --kill-timeout, then exits 0', { timeout: 30_000 }, async () => {
    const own = await start((await dir()).path, ['--kill-timeout', '1s'])
    const pidFile = join(work.path, 'stubborn.pids')
    pidFiles.push(pidFile)
    const added = await own.ctl(['add', 'stubborn', '--script', fixture('stubborn.sh'), '--', pidFile])
    assert.equal(added.code, 0, added.stderr)
    const { pid } = await own.waitForType('run.started', 'stubborn')
    await waitFor(() => readFile(pidFile, 'utf8').then((t) => t.trim() === String(pid), () => false), 'the run to record its pid')
    const began = Date.now()
    assert.equal(await own.stop(), 0)
    const took = Date.now() - began
    assert.ok(took >= 900, `stopped after ${took} ms: the kill timeout was not waited out`)
    assert.ok(took < 10_000, `stopped after ${took} ms`)
    await assertRunsEnded(pidFile)
  })
})
