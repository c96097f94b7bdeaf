// Random sequences of apply parts, sent without waiting for answers, against a live daemon and
// against a model of the rules: every answer is the one the rules give, and exactly the tasks of the
// applies the rules accept exist afterwards. A refused part voids the rest of its apply; a bad task
// voids its whole apply at the last part; an apply never finished leaves nothing.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { daemonForSuite, fixture, type DaemonProcess } from '../helpers/daemon-process.js'
import { closeAllClients, createToken, WsClient, type WsAnswer, TOKEN_TASKS_AS_ROOT } from '../helpers/ws-client.js'
import type { TaskView } from '../../src/core/view.js'

/** A part: good tasks, good tasks and one bad one, or not a part at all (tasks not an array). */
type Kind = 'good' | 'bad-task' | 'malformed'
interface Part {
  kind: Kind
  more: boolean
}

const part = fc.record({ kind: fc.constantFrom<Kind>('good', 'good', 'bad-task', 'malformed'), more: fc.boolean() })

/** What the rules say each answer is, and which tasks exist afterwards. */
function model(parts: readonly Part[], names: (i: number) => string[]): { answers: string[]; applied: Set<string> } {
  const answers: string[] = []
  const applied = new Set<string>()
  let staged: { names: string[]; count: number; spoiled: boolean } | 'refused' | null = null
  parts.forEach((p, i) => {
    if (staged === 'refused' || p.kind === 'malformed') {
      answers.push(staged === 'refused' ? 'earlier part' : 'malformed')
      staged = p.more ? 'refused' : null
      return
    }
    const apply: { names: string[]; count: number; spoiled: boolean } = staged ?? { names: [], count: 0, spoiled: false }
    const bad = p.kind === 'bad-task'
    apply.names.push(...names(i))
    apply.count += names(i).length + (bad ? 1 : 0)
    apply.spoiled ||= bad
    if (p.more) {
      answers.push(`staged ${apply.count}`)
      staged = apply
      return
    }
    answers.push(apply.spoiled ? 'bad task' : `added ${apply.names.length}`)
    if (!apply.spoiled) for (const name of apply.names) applied.add(name)
    staged = null
  })
  return { answers, applied }
}

function describeAnswer(answer: WsAnswer): string {
  if (answer.error !== undefined) {
    const message = answer.error.message
    if (/earlier part of this apply was refused/.test(message)) return 'earlier part'
    if (/^tasks: expected an array/.test(message)) return 'malformed'
    if (/priority: expected high\|medium\|low/.test(message)) return 'bad task'
    return `error ${answer.error.code}: ${message}`
  }
  const result = answer.result as { staged?: number; added?: number }
  return result.staged !== undefined ? `staged ${result.staged}` : `added ${result.added ?? '?'}`
}

describe('apply parts sent without waiting', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0', ...TOKEN_TASKS_AS_ROOT])
  let daemon: DaemonProcess
  let token = ''

  before(async () => {
    daemon = suite.daemon
    token = (await createToken(daemon, 'admin')).token
  })
  after(closeAllClients)

  it('answer as the rules say, and leave exactly the tasks of the accepted applies', { timeout: 120_000 }, async () => {
    let run = 0
    await fc.assert(fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 8 }), async (parts) => {
      run += 1
      const names = (i: number): string[] => (parts[i]?.kind === 'malformed' ? [] : [`r${run}-p${i}-a`, `r${run}-p${i}-b`])
      const expected = model(parts, names)
      // A connection of its own: what one run leaves staged must not reach the next.
      const client = await WsClient.connect(daemon.port, { token })
      try {
        const answers = await Promise.all(parts.map((p, i) => {
          const tasks = names(i).map((name) => ({ name, script: fixture('ok.sh'), at: '+1h' }))
          if (p.kind === 'bad-task') tasks.push({ name: `r${run}-p${i}-bad`, script: fixture('ok.sh'), at: '+1h', priority: 'urgent' } as (typeof tasks)[number])
          return client.request('tasks.apply', { tasks: p.kind === 'malformed' ? 'nope' : tasks, ...(p.more ? { more: true } : {}) })
        }))
        assert.deepEqual(answers.map(describeAnswer), expected.answers, JSON.stringify(parts))
        const listed = await client.result<TaskView[]>('tasks.list')
        const mine = listed.map((t) => t.name).filter((name) => name.startsWith(`r${run}-`))
        assert.deepEqual(mine.sort(), [...expected.applied].sort(), JSON.stringify(parts))
      } finally {
        await client.close()
      }
    }), { numRuns: 60 })
    assert.equal(daemon.child.exitCode, null, 'the daemon is still running')
  })
})
