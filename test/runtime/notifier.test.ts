// Webhooks: the signature, which events match, which answers are retried, and delivery from the log:
// in order, retried with backoff, given up and counted, resumed from the stored cursor after a restart.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Webhook } from '../../src/config/daemon-settings.js'
import { hookId, judge, matches, Notifier, shownUrl, signature, type NotifierOptions } from '../../src/runtime/notifier.js'
import { waitFor } from '../helpers/wait.js'
import { MemoryStore } from '../helpers/memory-store.js'
import { addedEvent, dueEvent } from '../helpers/sample-records.js'

const HOOK: Webhook = { url: 'http://127.0.0.1:9/hook', events: ['*'], secret: 's3cret', tasks: null }

/** A fetch that answers with the statuses given, in turn (the last one from then on), and keeps the requests. */
function fakeFetch(statuses: number[]): { fetch: typeof globalThis.fetch; bodies: { seq: number; signature: string | null; text: string }[] } {
  const bodies: { seq: number; signature: string | null; text: string }[] = []
  let i = 0
  const fake = (async (_url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>
    bodies.push({ seq: (JSON.parse(String(init.body)) as { event: { seq: number } }).event.seq, signature: headers['x-supervisor-signature'] ?? null, text: String(init.body) })
    const status = statuses[Math.min(i++, statuses.length - 1)] as number
    return new Response(null, { status })
  }) as unknown as typeof globalThis.fetch
  return { fetch: fake, bodies }
}

const fast = (fetch: typeof globalThis.fetch, attempts = 5): NotifierOptions => ({ retryFirstMs: 5, retryMostMs: 20, attempts, timeoutMs: 1000, fetch })

function notifier(store: MemoryStore, options: NotifierOptions): { notifier: Notifier; wake: () => void } {
  let listener: () => void = () => undefined
  const n = new Notifier(store, (wake) => {
    listener = wake
    return () => undefined
  }, { view: (name) => ({ name }) }, options)
  return { notifier: n, wake: () => listener() }
}

describe('webhooks', () => {
  it('signs the exact body as GitHub does (HMAC-SHA256, hex)', () => {
    // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    assert.equal(signature("It's a Secret to Everybody", 'Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17')
  })

  it('matches by event type (or *) and by task', () => {
    assert.equal(matches({ events: ['task.failed'], tasks: null }, { type: 'task.failed', task: 'a' }), true)
    assert.equal(matches({ events: ['task.failed'], tasks: null }, { type: 'task.succeeded', task: 'a' }), false)
    assert.equal(matches({ events: ['*'], tasks: ['a'] }, { type: 'run.exited', task: 'b' }), false)
    assert.equal(matches({ events: ['*'], tasks: ['a'] }, { type: 'run.exited', task: 'a' }), true)
  })

  it('retries a receiver that is down or busy; gives up at once on a refusal', () => {
    assert.deepEqual(judge(204), { ok: true })
    for (const status of [500, 503, 408, 429]) assert.equal((judge(status) as { retry: boolean }).retry, true, String(status))
    for (const status of [400, 401, 404, 410]) assert.equal((judge(status) as { retry: boolean }).retry, false, String(status))
  })

  it('delivers new events in order, retrying with backoff, signed', async () => {
    const store = new MemoryStore()
    await store.commit([addedEvent(1, 'old')], [], [])
    const { fetch, bodies } = fakeFetch([500, 500, 200])
    const { notifier: n, wake } = notifier(store, fast(fetch))
    await n.configure([HOOK])
    await store.commit([addedEvent(2, 'a'), dueEvent(3, 'a')], [], [])
    wake()
    await waitFor(() => bodies.length >= 4, 'four requests')
    assert.deepEqual(bodies.map((b) => b.seq), [2, 2, 2, 3], 'the old event is not replayed; 2 is retried until accepted, then 3')
    assert.ok(bodies.every((b) => b.signature?.startsWith('sha256=')))
    await waitFor(async () => ((await store.getValue(`notify:${hookId(HOOK)}`)) as { seq: number }).seq === 3, 'the cursor at 3')
    await n.close()
  })

  it('never sends env values: a definition in an event has them hidden', async () => {
    const store = new MemoryStore()
    const { fetch, bodies } = fakeFetch([200])
    const { notifier: n, wake } = notifier(store, fast(fetch))
    await n.configure([HOOK])
    const added = addedEvent(1, 'a') as Extract<ReturnType<typeof addedEvent>, { type: 'task.added' }>
    await store.commit([{ ...added, spec: { ...added.spec, env: { API_KEY: 'hunter2' } } }], [], [])
    wake()
    await waitFor(() => bodies.length >= 1, 'a delivery')
    assert.doesNotMatch(bodies[0]?.text ?? '', /hunter2/)
    assert.match(bodies[0]?.text ?? '', /API_KEY/)
    await n.close()
  })

  it('a webhook removed and added back starts from then, not where it stopped', async () => {
    const store = new MemoryStore()
    const { fetch, bodies } = fakeFetch([200])
    const { notifier: n, wake } = notifier(store, fast(fetch))
    await n.configure([HOOK])
    await n.configure([])
    await store.commit([addedEvent(1, 'a')], [], [])
    await n.configure([HOOK])
    wake()
    await store.commit([dueEvent(2, 'a')], [], [])
    wake()
    await waitFor(() => bodies.length >= 1, 'a delivery')
    assert.deepEqual(bodies.map((b) => b.seq), [2])
    assert.deepEqual(await store.getValue(`notify:${hookId(HOOK)}`), { seq: 2 })
    await n.close()
  })

  it('shows a URL without its credentials or query', () => {
    assert.equal(shownUrl('https://user:pass@hooks.example/p/x?token=abc#f'), 'https://hooks.example/p/x')
  })

  it('gives up on a refusal, counts it under the webhook (never its secret), and goes on', async () => {
    const store = new MemoryStore()
    const { fetch, bodies } = fakeFetch([410, 200])
    const { notifier: n, wake } = notifier(store, fast(fetch))
    await n.configure([HOOK])
    await store.commit([addedEvent(1, 'a'), dueEvent(2, 'a')], [], [])
    wake()
    await waitFor(() => bodies.length >= 2, 'two requests')
    const [group] = n.errors()
    assert.equal(group?.task, '(notify)')
    assert.equal(group?.cause, 'webhook http://127.0.0.1:9/hook: HTTP 410')
    assert.equal(group?.count, 1)
    assert.doesNotMatch(JSON.stringify(n.errors()), /s3cret/)
    await n.close()
    const again = notifier(store, fast(fetch))
    await again.notifier.configure([HOOK])
    assert.equal(again.notifier.errors()[0]?.count, 1, 'still counted after a restart')
    await again.notifier.close()
  })

  it('a restart resumes from the stored cursor: what was not delivered is', async () => {
    const store = new MemoryStore()
    const down = fakeFetch([503])
    const first = notifier(store, fast(down.fetch, 1000))
    await first.notifier.configure([HOOK])
    await store.commit([addedEvent(1, 'a'), dueEvent(2, 'a')], [], [])
    first.wake()
    await waitFor(() => down.bodies.length >= 2, 'retries of the first event')
    await first.notifier.close()
    const up = fakeFetch([200])
    const second = notifier(store, fast(up.fetch))
    await second.notifier.configure([HOOK])
    await waitFor(() => up.bodies.length >= 2, 'both events after the restart')
    assert.deepEqual(up.bodies.map((b) => b.seq), [1, 2])
    await second.notifier.close()
  })
})
