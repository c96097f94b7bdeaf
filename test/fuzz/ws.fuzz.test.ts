// Random and mutated WebSocket frames against a live daemon: it always answers, never dies, and the
// queue does not change.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import fc from 'fast-check'
import WebSocket from 'ws'
import { daemonForSuite, fixture, type DaemonProcess } from '../helpers/daemon-process.js'
import { TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskEvent } from '../../src/core/types.js'

const METHODS = ['tasks.add', 'tasks.apply', 'tasks.list', 'tasks.get', 'tasks.run', 'tasks.stop', 'tasks.remove', 'tasks.replay',
  'history.list', 'errors.list', 'events.subscribe', 'events.unsubscribe', 'tasks.logs', 'tokens.create', 'daemon.shutdown', 'nope']
const EXPECTED_CODES = new Set(['invalid', 'not_found', 'forbidden', 'conflict'])

/** A frame: pure noise, any JSON, or a request with a real method and mangled params. */
const frame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), fc.object()),
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 20 })),
    params: fc.oneof(fc.jsonValue(), fc.record({ name: fc.oneof(fc.string(), fc.constant('keep')), tasks: fc.array(fc.jsonValue(), { maxLength: 3 }), since: fc.jsonValue(), limit: fc.jsonValue() }, { requiredKeys: [] })),
  }, { requiredKeys: [] }).map((r) => JSON.stringify(r)),
)

const CHANGES = new Set(['tasks.run', 'tasks.stop', 'tasks.remove', 'tasks.replay'])

/**
 * A frame the generator can make that is not bad at all: a well-formed run, stop, remove or replay of
 * the task "keep". The daemon rightly carries it out; such frames are left out of this property.
 */
function wellFormedChange(text: string): boolean {
  let request: { method?: unknown; params?: unknown } | null
  try {
    request = JSON.parse(text) as typeof request
  } catch {
    return false
  }
  return typeof request === 'object' && request !== null && CHANGES.has(String(request.method)) &&
    JSON.stringify(request.params) === '{"name":"keep"}'
}

class Connection {
  private readonly answers: unknown[] = []
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.answers.push(JSON.parse(data.toString())))
  }

  static open(port: number, token: string): Promise<Connection> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } })
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Connection(ws)))
      ws.once('error', reject)
    })
  }

  /** Send one frame and wait for one answer (or for the daemon to close this connection). */
  async exchange(text: string): Promise<unknown> {
    const seen = this.answers.length
    this.ws.send(text)
    const end = Date.now() + 5000
    while (this.answers.length === seen && this.ws.readyState === WebSocket.OPEN && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    return this.answers[seen] ?? null
  }
}

describe('WebSocket frame fuzzing', () => {
  const suite = daemonForSuite(TOKEN_TASKS_AS_ROOT)
  let daemon: DaemonProcess
  let admin = ''

  before(async () => {
    daemon = suite.daemon
    admin = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'admin'])).token
    assert.equal((await daemon.ctl(['add', 'keep', '--script', fixture('ok.sh'), '--at', '+1d'])).code, 0)
  })

  it('answers every bad frame with an error, stays up, and changes nothing', { timeout: 120_000 }, async () => {
    const tasksBefore = await daemon.ctl(['list', '--json'])
    const lastSeq = (await daemon.ctlJson<TaskEvent[]>(['history'])).at(-1)?.seq
    let connection = await Connection.open(daemon.port, admin)
    let answered = 0
    await fc.assert(fc.asyncProperty(frame, async (text) => {
      fc.pre(!wellFormedChange(text))
      if (connection.ws.readyState !== WebSocket.OPEN) connection = await Connection.open(daemon.port, admin)
      const answer = await connection.exchange(text) as { error?: { code: string }; result?: unknown } | null
      // Reads may succeed; anything else must be refused with one of the contract's codes.
      if (answer?.error !== undefined) assert.ok(EXPECTED_CODES.has(answer.error.code), `code ${answer.error.code} for ${text}`)
      if (answer !== null) answered += 1
    }), { numRuns: 400 })
    connection.ws.close()
    assert.ok(answered > 350, `the daemon answered ${answered} of 400 frames`)
    assert.equal((await daemon.ctl(['list', '--json'])).stdout, tasksBefore.stdout, 'the queue is unchanged')
    assert.equal((await daemon.ctlJson<TaskEvent[]>(['history'])).at(-1)?.seq, lastSeq, 'no event was logged')
    assert.equal(daemon.child.exitCode, null, 'the daemon is still running')
  })
})
