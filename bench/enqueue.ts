// Enqueue: 100k tasks through `ctl apply` and through the WebSocket, against raw LevelDB batches of the same records.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { Client } from '../src/cli/client.js'
import { applyInParts, inParts } from '../src/cli/commands/ctl/apply.js'
import { parseArgs, percentile, report, type Row } from './report.js'
import { resolveTask, taskInputSchema } from '../src/config/task-input.js'
import { newRecord } from '../src/core/task-record.js'
import type { TaskEvent, TaskSpec } from '../src/core/types.js'
import { eventText, recordText } from '../src/store/codec.js'
import { SCHEMA_VERSION } from '../src/store/schema.js'

const { quick } = parseArgs()
const N = quick ? 20_000 : 100_000
const ROUNDS = quick ? 1 : 3

function tasks(prefix: string): Record<string, unknown>[] {
  return Array.from({ length: N }, (_, i) => ({ name: `${prefix}-${i}`, script: fixture('ok.sh'), at: '+1d', priority: (['high', 'medium', 'low'] as const)[i % 3] }))
}

/**
 * The same volume written straight to LevelDB the way the store writes it: per task the `task.added`
 * event, its index entry and the record, as the store's text on the root database, 1000 a batch.
 */
async function rawLevel(dir: string): Promise<number> {
  const db = new Level<string, string>(join(dir, 'raw'), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  const now = Date.now()
  const specs = tasks('raw').map((input) => resolveTask(taskInputSchema.parse(input), { now, baseDir: process.cwd(), totalMemory: 1 }))
  const start = performance.now()
  for (let i = 0; i < N; i += 1000) {
    const batch = db.batch()
    for (let seq = i + 1; seq <= Math.min(i + 1000, N); seq += 1) {
      const spec = specs[seq - 1] as TaskSpec
      const key = String(seq).padStart(16, '0')
      let specJson = ''
      const event: TaskEvent = { type: 'task.added', task: spec.name, spec, seq, time: new Date(now).toISOString() }
      batch.put(`!ev!${key}`, eventText(SCHEMA_VERSION, event, (_, text) => (specJson = text)))
      batch.put(`!tev!${spec.name}:${key}`, '{}')
      batch.put(`!task!${spec.name}`, recordText(SCHEMA_VERSION, newRecord(spec, seq), specJson))
    }
    await batch.write()
  }
  const ms = performance.now() - start
  await db.close()
  return ms
}

const dir = await tempDir('supervisor-bench-')
interface Round {
  rawMs: number
  ctlMs: number
  wsMs: number
}

/** One round: raw batches, then `ctl apply` and the WebSocket on a fresh daemon. */
async function round(index: number): Promise<Round> {
  const daemon = await DaemonProcess.start(join(dir.path, `home-${index}`), [], { follow: false })
  try {
    const rawMs = await rawLevel(join(dir.path, `raw-${index}`))
    const file = join(dir.path, `ecosystem-${index}.json`)
    await writeFile(file, JSON.stringify({ tasks: tasks('ctl') }))
    let start = performance.now()
    const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
    const ctlMs = performance.now() - start
    if (applied.code !== 0) throw new Error(applied.stderr)
    const { token } = await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'admin'])
    const client = await Client.connectUrl(`ws://127.0.0.1:${daemon.port}/ws`, token)
    const wsTasks = tasks('ws')
    start = performance.now()
    await applyInParts(client, wsTasks, { prune: false, baseDir: process.cwd() })
    const wsMs = performance.now() - start
    client.close()
    return { rawMs, ctlMs, wsMs }
  } finally {
    await daemon.cleanup()
  }
}

try {
  // Three rounds, each figure the median: this shared machine drifts by 20-50 % within minutes.
  const rounds: Round[] = []
  for (let i = 0; i < ROUNDS; i += 1) rounds.push(await round(i))
  const median = (pick: (r: Round) => number): number => percentile(rounds.map(pick), 50)
  const [rawMs, ctlMs, wsMs] = [median((r) => r.rawMs), median((r) => r.ctlMs), median((r) => r.wsMs)]
  const each = (pick: (r: Round) => number): string => rounds.map((r) => (N / (pick(r) / 1000) / 1000).toFixed(1)).join(', ')
  const parts = [...inParts(tasks('ws'))].length
  const rate = (ms: number): number => N / (ms / 1000)
  const of = `median of ${ROUNDS}`
  const rows: Row[] = [
    { what: `raw LevelDB batches of ${N} tasks (the store's event, index entry and record text, 1000 a batch; ${of})`, value: rate(rawMs), unit: 'tasks/s', extra: `rounds: ${each((r) => r.rawMs)}k/s` },
    { what: `ctl apply of ${N} tasks (whole command, validation and one atomic batch; ${of})`, value: rate(ctlMs), unit: 'tasks/s', target: 50_000, higherIsBetter: true, extra: `${ctlMs.toFixed(0)} ms, ${(rawMs / ctlMs).toFixed(2)}x raw; rounds: ${each((r) => r.ctlMs)}k/s` },
    { what: `WebSocket tasks.apply of ${N} tasks in ${parts} parts, sent without waiting (${of})`, value: rate(wsMs), unit: 'tasks/s', target: 50_000, higherIsBetter: true, extra: `${wsMs.toFixed(0)} ms, ${(rawMs / wsMs).toFixed(2)}x raw; rounds: ${each((r) => r.wsMs)}k/s` },
  ]
  report('enqueue', rows)
} finally {
  await dir.remove()
}
