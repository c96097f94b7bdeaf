// End to end: webhooks with real processes and a receiver on loopback. Deliveries are signed (checked
// against the body with the secret), retried after 5xx in order, given up on a refusal (shown in
// `ctl errors`), and not lost across a daemon restart while the receiver was down.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

const SECRET = 'hook-secret'

interface Received { type: string; task: string; seq: number; signed: boolean; body: { task: { name: string } | null; stderr: string | null } }

describe('webhooks', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let work: Awaited<ReturnType<typeof tempDir>>
  let server: Server
  let daemon: DaemonProcess | null = null
  let config = ''
  const received: Received[] = []
  /** What the receiver answers, by task; 200 for others. */
  const answers = new Map<string, number[]>()

  before(async () => {
    home = await tempDir()
    work = await tempDir()
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        const parsed = JSON.parse(body) as { event: { type: string; task: string; seq: number } } & Received['body']
        const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`
        received.push({ type: parsed.event.type, task: parsed.event.task, seq: parsed.event.seq, signed: req.headers['x-supervisor-signature'] === expected, body: parsed })
        const queue = answers.get(parsed.event.task)
        res.writeHead(queue !== undefined && queue.length > 1 ? (queue.shift() as number) : (queue?.[0] ?? 200)).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    config = join(work.path, 'ecosystem.json')
    await writeFile(config, JSON.stringify({
      supervisor: { notify: [{ url: `http://127.0.0.1:${port}/hooks`, events: ['task.succeeded', 'task.failed'], secret: SECRET }] },
      tasks: [],
    }))
    daemon = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--config', config])
  })

  after(async () => {
    await daemon?.cleanup()
    await new Promise((resolve) => server.close(resolve))
    await home.remove()
    await work.remove()
  })

  const of = (task: string): Received[] => received.filter((r) => r.task === task)

  it('posts matching events, signed, with the task and the stderr of a failure', { timeout: 30_000 }, async () => {
    const d = daemon as DaemonProcess
    await d.add('fine', ['--script', fixture('ok.sh')])
    await d.add('broken', ['--script', fixture('fail.sh'), '--retries', '0'])
    await waitFor(() => of('fine').length > 0 && of('broken').length > 0, 'both deliveries')
    const [fine] = of('fine')
    assert.equal(fine?.type, 'task.succeeded')
    assert.equal(fine?.signed, true)
    assert.equal(fine?.body.task?.name, 'fine')
    const [broken] = of('broken')
    assert.equal(broken?.type, 'task.failed')
    assert.match(broken?.body.stderr ?? '', /failing with 3/)
    assert.equal(received.some((r) => r.type === 'run.started'), false, 'only the events asked for')
  })

  it('retries after 5xx, in order; gives up on a refusal and shows it in ctl errors', { timeout: 30_000 }, async () => {
    const d = daemon as DaemonProcess
    answers.set('flaky-receiver', [500, 500, 200])
    answers.set('refused', [410])
    await d.add('flaky-receiver', ['--script', fixture('ok.sh')])
    await waitFor(() => of('flaky-receiver').length >= 3, 'three attempts', 20_000)
    assert.deepEqual(new Set(of('flaky-receiver').map((r) => r.seq)).size, 1, 'the same event, retried')
    await d.add('refused', ['--script', fixture('ok.sh')])
    const errors = await waitFor(async () => {
      const groups = JSON.parse((await d.ctl(['errors', '--json'])).stdout) as { task: string; cause: string; count: number }[]
      return groups.find((g) => g.task === '(notify)')
    }, 'the refusal in errors')
    assert.match(errors.cause, /^webhook http:\/\/127\.0\.0\.1:\d+\/hooks: HTTP 410$/)
    assert.doesNotMatch(JSON.stringify(errors), new RegExp(SECRET))
  })

  it('events recorded while the receiver was down are delivered after a daemon restart', { timeout: 60_000 }, async () => {
    answers.set('while-down', [503])
    await (daemon as DaemonProcess).add('while-down', ['--script', fixture('ok.sh')])
    await waitFor(() => of('while-down').length >= 1, 'a first attempt')
    assert.equal(await (daemon as DaemonProcess).stop(), 0)
    answers.set('while-down', [200])
    const before = of('while-down').length
    daemon = await DaemonProcess.start(home.path, ['--min-free-memory', '0', '--config', config])
    await waitFor(() => of('while-down').length > before, 'the delivery after the restart', 20_000)
    assert.equal(of('while-down').at(-1)?.type, 'task.succeeded')
  })
})
