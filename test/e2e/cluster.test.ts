// End to end: three daemons (separate homes) sharing one queue in a throwaway PostgreSQL 15. Claims
// under contention, one gap-free order of events on every node, placement, a lost node's runs moved,
// a fenced node ending its stale run, one daemon a node name, tokens across nodes.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TaskEvent } from '../../src/core/types.js'
import { DaemonProcess, fixture, runCli } from '../helpers/daemon-process.js'
import { pgMissing, startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'

describe('a cluster: three daemons, one queue', { skip: pgMissing }, () => {
  let server: TestPostgres
  const dirs: Awaited<ReturnType<typeof tempDir>>[] = []
  const daemons: DaemonProcess[] = []
  /** Pids of runs a test killed or froze the daemon of: ended after the suite whatever happens. */
  const strays = new Set<number>()

  const node = async (url: string, name: string, extra: string[] = []): Promise<DaemonProcess> => {
    const home = await tempDir()
    dirs.push(home)
    const daemon = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--store', url, '--node', name, ...extra])
    daemons.push(daemon)
    return daemon
  }
  const cluster = async (extra: string[] = []): Promise<{ url: string; nodes: DaemonProcess[] }> => {
    const url = await server.createDatabase()
    // One after the other: the first creates the schema.
    const nodes: DaemonProcess[] = []
    for (const name of ['n1', 'n2', 'n3']) nodes.push(await node(url, name, extra))
    return { url, nodes }
  }

  before(async () => {
    server = await startPostgres()
  })
  after(async () => {
    for (const daemon of daemons) {
      if (daemon.child.signalCode === null && daemon.child.exitCode === null) process.kill(daemon.pid, 'SIGCONT')
      await daemon.cleanup()
    }
    for (const pid of strays) if (alive(pid)) process.kill(-pid, 'SIGKILL')
    for (const dir of dirs) await dir.remove()
    await server?.stop()
  })

  it('1,000 one-shots under contention: each started exactly once, on every node one gap-free order of events', { timeout: 240_000 }, async () => {
    const { nodes } = await cluster(['--max-concurrent', '6'])
    const work = await tempDir()
    dirs.push(work)
    const ran = join(work.path, 'ran')
    const file = join(work.path, 'many.json')
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ name: `job-${i}`, script: fixture('record.sh'), args: [ran], retries: 0 }))
    await writeFile(file, JSON.stringify({ tasks }))
    const applied = await nodes[0]?.ctl(['apply', file])
    assert.equal(applied?.code, 0, applied?.stderr)
    for (const daemon of nodes) {
      await waitFor(() => daemon.eventsOf('task.succeeded').length === 1000 || undefined, `${daemon.home}: 1000 successes`, 200_000)
    }
    const lines = (await readFile(ran, 'utf8')).trim().split('\n')
    assert.equal(lines.length, 1000, 'one run a task')
    assert.equal(new Set(lines).size, 1000)
    const [first, ...others] = nodes as [DaemonProcess, ...DaemonProcess[]]
    const starts = first.eventsOf('run.started')
    assert.equal(starts.length, 1000)
    assert.equal(new Set(starts.map((e) => e.task)).size, 1000)
    const byNode = new Map<string, number>()
    for (const start of starts) byNode.set(start.node ?? '?', (byNode.get(start.node ?? '?') ?? 0) + 1)
    assert.deepEqual([...byNode.keys()].sort(), ['n1', 'n2', 'n3'], `every node ran some: ${JSON.stringify([...byNode])}`)
    // The same events in the same order on every node, seqs without a gap.
    const seqs = (events: readonly TaskEvent[]): number[] => events.map((e) => e.seq)
    const firstSeqs = seqs(first.events)
    assert.deepEqual(firstSeqs, Array.from({ length: firstSeqs.length }, (_, i) => i + 1), 'seqs from 1 without a gap')
    for (const other of others) {
      await waitFor(() => other.events.length >= first.events.length || undefined, 'the same count of events', 10_000)
      assert.deepEqual(seqs(other.events).slice(0, firstSeqs.length), firstSeqs)
      assert.deepEqual(other.events.slice(0, 50).map((e) => `${e.type} ${e.task}`), first.events.slice(0, 50).map((e) => `${e.type} ${e.task}`))
    }
    const listed = await first.ctlJson<{ node: string | null; state: string }[]>(['list'])
    assert.ok(listed.every((t) => t.state === 'succeeded' && t.node !== null))
    // Contention shows in the metrics: writes decided again because another node committed first.
    const { token } = await first.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])
    let conflicts = 0
    for (const daemon of nodes) {
      const text = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${daemon.port}/metrics`, { headers: { authorization: `Bearer ${token}` } })
        return response.status === 200 ? response.text() : (await response.arrayBuffer(), undefined)
      }, 'metrics with a token made on another node', 10_000, 100)
      conflicts += Number(/^supervisor_log_conflicts_total (\d+)$/m.exec(text)?.[1] ?? Number.NaN)
    }
    assert.ok(conflicts > 0, `conflicts counted: ${conflicts}`)
  })

  it('placement, ctl nodes, and the history and tokens of the whole cluster from any node', { timeout: 90_000 }, async () => {
    const { nodes } = await cluster()
    const [n1, n2, n3] = nodes as [DaemonProcess, DaemonProcess, DaemonProcess]
    for (const name of ['n1', 'n2', 'n3']) await n1.add(`on-${name}`, ['--script', fixture('ok.sh'), '--node', name])
    await n2.add('either', ['--script', fixture('ok.sh'), '--node', 'n2', '--node', 'n3'])
    for (const name of ['n1', 'n2', 'n3']) {
      const started = await n3.waitForType('run.started', `on-${name}`)
      assert.equal(started.node, name)
    }
    assert.ok(['n2', 'n3'].includes((await n1.waitForType('run.started', 'either')).node ?? ''))
    // A workflow across nodes: the second, on n3, waits for the first, on n1, and runs after it succeeded.
    await n2.add('first', ['--script', fixture('sleep.sh'), '--node', 'n1', '--', '2'])
    await n2.add('second', ['--script', fixture('ok.sh'), '--node', 'n3', '--after', 'first'])
    const firstDone = await n3.waitForType('task.succeeded', 'first', () => true, 20_000)
    const secondStart = await n1.waitForType('run.started', 'second', () => true, 20_000)
    assert.equal(secondStart.node, 'n3')
    assert.ok(secondStart.seq > firstDone.seq, 'after its prerequisite succeeded')
    const status = await n2.task('on-n1')
    assert.equal(status.node, 'n1')
    assert.deepEqual(status.nodes, ['n1'])
    // Logs stay on their node: asked elsewhere, the answer says which node holds them.
    const logs = await n2.ctl(['logs', 'on-n1'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.match(logs.stderr, /last run of "on-n1" was on node "n1": its logs are kept there/)
    const here = await n1.ctl(['logs', 'on-n1'])
    assert.doesNotMatch(here.stderr, /kept there/)
    const rows = await n1.ctlJson<{ name: string; state: string; lastSeen: string; running: number; version: string }[]>(['nodes'])
    assert.deepEqual(rows.map((r) => `${r.name} ${r.state}`), ['n1 alive', 'n2 alive', 'n3 alive'])
    assert.ok(rows.every((r) => !Number.isNaN(Date.parse(r.lastSeen)) && typeof r.version === 'string'))
    const table = await n2.ctl(['nodes'])
    assert.match(table.stdout, /n2 \(this\)\s+alive/)
    // A task added on n1 is refused on n3 by name: one queue.
    const again = await n3.ctl(['add', 'on-n1', '--script', fixture('ok.sh')])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already exists/)
    const history = await n3.ctlJson<{ type: string; task: string }[]>(['history', 'on-n2'])
    assert.ok(history.some((e) => e.type === 'task.succeeded'))
    // A token made on n1 opens n2's WebSocket API; revoked on n2, n1 refuses it.
    const { token, id } = await n1.ctlJson<{ token: string; id: string }>(['token', 'create', '--scope', 'read'])
    const listOn = async (daemon: DaemonProcess): Promise<number> => {
      const response = await fetch(`http://127.0.0.1:${daemon.port}/metrics`, { headers: { authorization: `Bearer ${token}` } })
      await response.arrayBuffer()
      return response.status
    }
    await waitFor(async () => ((await listOn(n2)) === 200 ? true : undefined), 'the token works on n2', 10_000)
    const revoked = await n2.ctl(['token', 'revoke', id])
    assert.equal(revoked.code, 0, revoked.stderr)
    await waitFor(async () => ((await listOn(n1)) === 401 ? true : undefined), 'n1 refuses the revoked token', 10_000)
  })

  it('webhooks: delivered by one node (the lead), each event once; the lead moves when its node stops', { timeout: 90_000 }, async () => {
    const got: { seq: number; task: string }[] = []
    const receiver = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        const parsed = JSON.parse(body) as { event: { seq: number; task: string } }
        got.push({ seq: parsed.event.seq, task: parsed.event.task })
        response.end('ok')
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    try {
      const work = await tempDir()
      dirs.push(work)
      const config = join(work.path, 'hooks.json')
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
      await writeFile(config, JSON.stringify({ supervisor: { notify: [{ url, events: ['task.succeeded'] }] }, tasks: [] }))
      const { nodes } = await cluster(['--config', config, '--node-timeout', '3s'])
      const [n1, n2, n3] = nodes as [DaemonProcess, DaemonProcess, DaemonProcess]
      for (let i = 0; i < 6; i += 1) await nodes[i % 3]?.add(`hooked-${i}`, ['--script', fixture('ok.sh')])
      await waitFor(() => (got.length >= 6 ? true : undefined), '6 deliveries', 20_000)
      // n1 started first and took the lead; it stops, another node takes the lead and goes on.
      const stopped = n1
      assert.equal(await stopped.stop(), 0)
      const rest = [n1, n2, n3].filter((d) => d !== stopped)
      for (let i = 6; i < 9; i += 1) await rest[i % 2]?.add(`hooked-${i}`, ['--script', fixture('ok.sh')])
      await waitFor(() => (got.length >= 9 ? true : undefined), '9 deliveries', 30_000)
      await sleep(1500)
      assert.equal(got.length, 9, `each event once: ${JSON.stringify(got)}`)
      assert.equal(new Set(got.map((g) => g.seq)).size, 9)
    } finally {
      receiver.closeAllConnections()
      await new Promise((resolve) => receiver.close(resolve))
    }
  })

  it('stop, restart, remove and a timeout reach a run on another node', { timeout: 90_000 }, async () => {
    const { nodes } = await cluster()
    const [n1, n2, n3] = nodes as [DaemonProcess, DaemonProcess, DaemonProcess]
    await n1.add('held', ['--script', fixture('sleep.sh'), '--node', 'n1', '--', '60'])
    const first = await n2.waitForType('run.started', 'held')
    strays.add(first.pid)
    // Stopped from n2: n1 sends the signal (it holds the run), and records the exit as a stop.
    assert.equal((await n2.ctl(['stop', 'held'])).code, 0)
    const stopped = await n3.waitForType('run.exited', 'held', (e) => e.pid === first.pid)
    assert.equal(stopped.outcome, 'stopped')
    await waitFor(() => (alive(first.pid) ? undefined : true), 'the run ended', 5000)
    // Run again from n3, restarted from n2: a new run on n1, the old one stopped.
    assert.equal((await n3.ctl(['run', 'held'])).code, 0)
    const second = await n1.waitForType('run.started', 'held', (e) => e.pid !== first.pid)
    strays.add(second.pid)
    assert.equal((await n2.ctl(['restart', 'held'])).code, 0)
    const third = await n1.waitForType('run.started', 'held', (e) => e.pid !== first.pid && e.pid !== second.pid)
    strays.add(third.pid)
    assert.equal(n1.eventsOf('run.exited', 'held').find((e) => e.pid === second.pid)?.outcome, 'stopped')
    // Removed from n3 while it runs on n1: ended there.
    assert.equal((await n3.ctl(['remove', 'held'])).code, 0)
    await n1.waitForType('run.exited', 'held', (e) => e.pid === third.pid)
    await waitFor(() => (alive(third.pid) ? undefined : true), 'the removed run ended', 10_000)
    // A timeout falls due on every node's clock; the run on n2 is ended once, by n2.
    await n1.add('slow', ['--script', fixture('sleep.sh'), '--node', 'n2', '--timeout', '1s', '--retries', '0', '--', '60'])
    const slow = await n1.waitForType('run.started', 'slow')
    strays.add(slow.pid)
    const ended = await n1.waitForType('run.exited', 'slow', (e) => e.pid === slow.pid, 10_000)
    assert.equal(ended.outcome, 'timeout')
    assert.equal(n1.eventsOf('run.exited', 'slow').length, 1)
    assert.ok(!alive(slow.pid))
  })

  it('PostgreSQL down past the node timeout and back: no node is taken for lost, no run is moved, work goes on', { timeout: 90_000 }, async () => {
    const { nodes } = await cluster(['--node-timeout', '3s'])
    const [n1, n2, n3] = nodes as [DaemonProcess, DaemonProcess, DaemonProcess]
    await n1.add('long', ['--script', fixture('sleep.sh'), '--', '30'])
    const run = await n2.waitForType('run.started', 'long')
    strays.add(run.pid)
    await sleep(3500) // every node has beaten for a whole timeout: each would judge the others
    await server.pause()
    await sleep(7000)
    await server.resume()
    // After the outage every node's last beat is old; none may move another's run.
    await waitFor(async () => {
      const rows = await n3.ctl(['nodes', '--json'])
      if (rows.code !== 0) return undefined
      const parsed = JSON.parse(rows.stdout) as { state: string; silentMs: number }[]
      return parsed.every((r) => r.state === 'alive' && r.silentMs < 3000) ? true : undefined
    }, 'every node beating again', 20_000, 200)
    await sleep(4000) // past another timeout: a node judging too early would have moved the run by now
    for (const daemon of nodes) {
      const exits = await daemon.ctlJson<{ type: string; pid: number }[]>(['history', 'long'])
      assert.ok(!exits.some((e) => e.type === 'run.exited'), 'the run was not interrupted')
    }
    assert.ok(alive(run.pid))
    assert.equal((await n1.ctl(['add', 'after-outage', '--script', fixture('ok.sh')])).code, 0)
    await n3.waitForType('task.succeeded', 'after-outage', () => true, 20_000)
  })

  it('one daemon a node name; a restarted one takes over at once and keeps its runs', { timeout: 60_000 }, async () => {
    const url = await server.createDatabase()
    const n1 = await node(url, 'n1')
    const other = await tempDir()
    dirs.push(other)
    const second = await runCli(['daemon', '--home', other.path, '--port', '0', '--store', url, '--node', 'n1'])
    assert.equal(second.code, 1)
    assert.match(second.stderr, /node "n1" is already running/)
    await n1.add('long', ['--script', fixture('sleep.sh'), '--', '30'])
    const started = await n1.waitForType('run.started', 'long')
    strays.add(started.pid)
    await n1.crash()
    const again = await DaemonProcess.start(n1.home, ['--min-free-memory', '0', '--store', url, '--node', 'n1'])
    daemons.push(again)
    const task = await again.task('long')
    assert.equal(task.state, 'running')
    assert.equal(task.pid, started.pid, 'the run was re-adopted, not started again')
    assert.equal(again.eventsOf('run.started', 'long').length, 1)
  })

  it('a lost node (daemon, launcher and run killed): its run is recorded interrupted and started on another node', { timeout: 90_000 }, async () => {
    const { nodes } = await cluster(['--node-timeout', '3s'])
    const [n1, n2] = nodes as [DaemonProcess, DaemonProcess, DaemonProcess]
    await n1.add('long', ['--script', fixture('sleep.sh'), '--node', 'n1', '--node', 'n2', '--', '60'])
    const first = await n1.waitForType('run.started', 'long')
    strays.add(first.pid)
    const victim = nodes.find((d) => d.home !== undefined && first.node === ['n1', 'n2', 'n3'][nodes.indexOf(d)]) as DaemonProcess
    const survivor = victim === n1 ? n2 : n1
    const launcher = await victim.launcherPid()
    await victim.crash()
    process.kill(launcher, 'SIGKILL')
    process.kill(-first.pid, 'SIGKILL')
    const exited = await survivor.waitForType('run.exited', 'long', (e) => e.pid === first.pid, 20_000)
    assert.equal(exited.outcome, 'interrupted')
    assert.match(exited.cause ?? '', new RegExp(`node "${first.node}" was lost`))
    const moved = await survivor.waitForType('run.started', 'long', (e) => e.pid !== first.pid, 20_000)
    strays.add(moved.pid)
    assert.notEqual(moved.node, first.node)
    const rows = await survivor.ctlJson<{ name: string; state: string }[]>(['nodes'])
    assert.equal(rows.find((r) => r.name === first.node)?.state, 'lost')
    // Its attempt was not spent: an interrupted run is no failure.
    assert.equal((await survivor.task('long')).lastOutcome, 'interrupted')
  })

  it('fencing: a node frozen past its timeout comes back, ends its stale run and records nothing of it', { timeout: 90_000 }, async () => {
    const { nodes } = await cluster(['--node-timeout', '3s'])
    const [n1] = nodes as [DaemonProcess, DaemonProcess, DaemonProcess]
    await n1.add('long', ['--script', fixture('sleep.sh'), '--', '60'])
    const first = await n1.waitForType('run.started', 'long')
    strays.add(first.pid)
    const frozen = nodes[['n1', 'n2', 'n3'].indexOf(first.node ?? '')] as DaemonProcess
    const watcher = nodes.find((d) => d !== frozen) as DaemonProcess
    process.kill(frozen.pid, 'SIGSTOP')
    const moved = await watcher.waitForType('run.started', 'long', (e) => e.pid !== first.pid, 30_000)
    strays.add(moved.pid)
    assert.ok(alive(first.pid), 'the frozen node\'s run still goes on (its launcher is not frozen)')
    process.kill(frozen.pid, 'SIGCONT')
    await waitFor(() => (alive(first.pid) ? undefined : true), 'the stale run ended by its node', 15_000)
    await sleep(1000)
    const exits = watcher.eventsOf('run.exited', 'long').filter((e) => e.pid === first.pid)
    assert.equal(exits.length, 1, 'only the lost node\'s exit, recorded by the node that moved it')
    assert.equal((await watcher.task('long')).pid, moved.pid, 'the moved run goes on')
    await waitFor(async () => {
      const rows = await watcher.ctlJson<{ name: string; state: string }[]>(['nodes'])
      return rows.find((r) => r.name === first.node)?.state === 'alive' ? true : undefined
    }, 'the fenced node joined again', 15_000)
  })
})

describe('a daemon on its own (LevelDB) is its one node', () => {
  it('lists itself in ctl nodes, and its runs carry its node name', { timeout: 30_000 }, async () => {
    const home = await tempDir()
    const daemon = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--node', 'solo'])
    try {
      const rows = await daemon.ctlJson<{ name: string; state: string; self: boolean; running: number }[]>(['nodes'])
      assert.deepEqual(rows.map((r) => `${r.name} ${r.state} ${r.self}`), ['solo alive true'])
      assert.equal((await daemon.ctlJson<{ node: string }>(['info'])).node, 'solo')
      await daemon.add('once', ['--script', fixture('ok.sh')])
      assert.equal((await daemon.waitForType('run.started', 'once')).node, 'solo')
      await daemon.waitForType('task.succeeded', 'once')
      assert.equal((await daemon.task('once')).node, 'solo')
      // Placement holds on a daemon of its own too: a task placed on another node waits, saying why.
      await daemon.add('placed', ['--script', fixture('ok.sh'), '--node', 'elsewhere'])
      await daemon.add('here', ['--script', fixture('ok.sh'), '--node', 'solo'])
      await daemon.waitForType('task.succeeded', 'here')
      const placed = await daemon.task('placed')
      assert.equal(placed.state, 'ready')
      assert.equal(placed.waitingReason, 'placed on "elsewhere"')
    } finally {
      await daemon.cleanup()
      await home.remove()
    }
  })
})
