// End to end: event streams over the WebSocket API (since-replay seam, live only, unsubscribe) and ctl watch.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { CLI, DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'
import { closeAllClients, createToken, within, WsClient, type CreatedToken, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'

/** A task that waits an hour (one event), or one that runs at once (five events, produced by the scheduler). */
const task = (name: string, runs: boolean): Record<string, unknown> =>
  ({ name, script: fixture('ok.sh'), ...(runs ? {} : { at: '+1h' }) })

const brief = (e: TaskEvent): [number, string, string, string] => [e.seq, e.type, e.task, e.time]

describe('WebSocket event streams', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let admin: CreatedToken
  let read: CreatedToken
  let producer: WsClient

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0', '--max-concurrent', '8', ...TOKEN_TASKS_AS_ROOT])
    admin = await createToken(daemon, 'admin')
    read = await createToken(daemon, 'read')
    producer = await WsClient.connect(daemon.port, { token: admin.token })
  })
  after(async () => {
    await producer.close()
    closeAllClients()
    await daemon.cleanup()
    await home.remove()
  })

  const history = (): Promise<TaskEvent[]> => producer.result<TaskEvent[]>('history.list', { limit: 100_000 })

  it('sends the stored events after since, then live ones: contiguous, none lost or doubled', async () => {
    for (let i = 0; i < 30; i += 1) await producer.result('tasks.add', task(`pre-${i}`, i % 5 === 0))
    const since = (await history()).at(-15)?.seq ?? 0
    // Enough stored events after `since` that their replay spans several pages of the store.
    const bulk = Array.from({ length: 2500 }, (_v, i) => task(`bulk-${i}`, false))
    assert.deepEqual(await producer.result('tasks.apply', { tasks: bulk }), { added: 2500, updated: 0, removed: 0 })
    let added = 0
    const runners: string[] = []
    const production = (async () => {
      for (let i = 0; i < 200; i += 1) {
        const runs = i % 10 === 0
        await producer.result('tasks.add', task(`live-${i}`, runs))
        if (runs) runners.push(`live-${i}`)
        added += 1
      }
    })()
    // Subscribers join at different moments while events keep coming, so the stored/live seam moves.
    const subscribers: WsClient[] = []
    for (const threshold of [0, 10, 50, 120]) {
      await waitFor(() => added >= threshold, `${threshold} adds`)
      const subscriber = await WsClient.connect(daemon.port, { token: read.token })
      subscribers.push(subscriber)
      const answer = await subscriber.result<{ subscribed: boolean; lastSeq: number }>('events.subscribe', { since })
      assert.equal(answer.subscribed, true)
      assert.ok(answer.lastSeq > since)
    }
    await production
    for (const name of ['pre-0', 'pre-5', 'pre-10', 'pre-15', 'pre-20', 'pre-25', ...runners]) {
      await daemon.waitForType('task.succeeded', name)
    }
    const expected = (await history()).filter((e) => e.seq > since)
    const last = expected.at(-1)?.seq ?? 0
    assert.ok(expected.length > 2750, `only ${expected.length} events were produced`)
    try {
      for (const [i, subscriber] of subscribers.entries()) {
        await subscriber.waitForEvent((e) => e.seq === last, `subscriber ${i} to reach seq ${last}`)
        await subscriber.result('tasks.list') // answers follow the events already pushed on the same socket
        assert.deepEqual(subscriber.events.map((e) => e.seq), expected.map((e) => e.seq), `subscriber ${i} seqs`)
        assert.deepEqual(subscriber.events.map(brief), expected.map(brief), `subscriber ${i} events`)
      }
    } finally {
      await Promise.all(subscribers.map((s) => s.close()))
    }
  })

  it('without since, sends only events after the subscription; unsubscribe ends the stream', async () => {
    const subscriber = await WsClient.connect(daemon.port, { token: read.token })
    try {
      const { lastSeq } = await subscriber.result<{ lastSeq: number }>('events.subscribe')
      assert.equal(lastSeq, (await history()).at(-1)?.seq)
      await producer.result('tasks.add', task('fresh', false))
      const fresh = await subscriber.waitForEvent((e) => e.task === 'fresh', 'the event of fresh')
      await subscriber.result('tasks.list')
      assert.deepEqual(subscriber.events.map(brief), [[lastSeq + 1, 'task.added', 'fresh', fresh.time]])
      const again = await subscriber.request('events.subscribe')
      assert.equal(again.error?.code, 'conflict', 'one stream a connection')
      assert.deepEqual(await subscriber.result('events.unsubscribe'), { unsubscribed: true })
      await producer.result('tasks.add', task('unseen', false))
      await subscriber.result('tasks.list')
      assert.equal(subscriber.events.length, 1, 'nothing arrives after unsubscribe')
      assert.deepEqual(await subscriber.result('events.unsubscribe'), { unsubscribed: false })
    } finally {
      await subscriber.close()
    }
  })

  it('refuses a negative or non-numeric since as invalid, naming it', async () => {
    const subscriber = await WsClient.connect(daemon.port, { token: read.token })
    try {
      for (const since of [-1, 'yesterday', 1.5]) {
        const answer = await subscriber.request('events.subscribe', { since })
        assert.equal(answer.error?.code, 'invalid', JSON.stringify(answer))
        assert.match(answer.error?.message ?? '', /^since: /)
      }
      assert.ok((await subscriber.result<{ subscribed: boolean }>('events.subscribe', { since: 0 })).subscribed)
    } finally {
      await subscriber.close()
    }
  })

  it('ctl watch --json prints one JSON event a line, stored ones after --since then live ones', async () => {
    const since = (await history()).at(-1)?.seq ?? 0
    const watch = spawn(process.execPath, [CLI, 'ctl', '--home', home.path, 'watch', '--json', '--since', String(since)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const pid = watch.pid as number
    let stdout = ''
    watch.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)))
    try {
      await producer.result('tasks.add', task('watched', true))
      await waitFor(() => stdout.includes('"task.succeeded"'), 'watch to print the success of watched')
      // Printed live: the stream is open, so a later event shows up too.
      await producer.result('tasks.add', task('watched-later', false))
      await waitFor(() => stdout.includes('"watched-later"'), 'watch to print a later event')
      const lines = stdout.trimEnd().split('\n')
      const events = lines.map((line) => JSON.parse(line) as TaskEvent)
      assert.deepEqual(events.map((e) => e.seq), events.map((_e, i) => since + 1 + i), 'contiguous seqs from since + 1')
      assert.deepEqual(events.map((e) => e.type),
        ['task.added', 'task.due', 'run.started', 'run.exited', 'task.succeeded', 'task.added'])
      for (const event of events) {
        assert.equal(typeof event.time, 'string')
        assert.ok(!Number.isNaN(Date.parse(event.time)))
      }
      assert.deepEqual(events.map(brief), (await history()).filter((e) => e.seq > since).map(brief))
      process.kill(pid, 'SIGINT')
      assert.equal(await within(exited, 5000, 'watch to exit on SIGINT'), 0)
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })
})
