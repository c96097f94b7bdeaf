// Enqueue: 100k tasks through `ctl apply` and through the WebSocket, against raw LevelDB batches of the same records.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { Client } from '../src/cli/client.js'
import { applyInParts, inParts } from '../src/cli/commands/ctl/apply.js'
import { parseArgs, report, type Row } from './report.js'
import { resolveTask, taskInputSchema } from '../src/config/task-input.js'
import { newRecord } from '../src/core/task-record.js'
import type { TaskEvent, TaskSpec } from '../src/core/types.js'
import { eventText, recordText } from '../src/store/codec.js'
import { SCHEMA_VERSION } from '../src/store/schema.js'

const { quick } = parseArgs()
const N = quick ? 20_000 : 100_000

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
const daemon = await DaemonProcess.start(join(dir.path, 'home'), [], { follow: false })
try {
  const rawMs = await rawLevel(dir.path)
  const file = join(dir.path, 'ecosystem.json')
  await writeFile(file, JSON.stringify({ tasks: tasks('ctl') }))
  let start = performance.now()
  const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
  const ctlMs = performance.now() - start
  if (applied.code !== 0) throw new Error(applied.stderr)

  const { token } = await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'admin'])
  const client = await Client.connectUrl(`ws://127.0.0.1:${daemon.port}/ws`, token)
  const wsTasks = tasks('ws')
  const parts = [...inParts(wsTasks)].length
  start = performance.now()
  await applyInParts(client, wsTasks, { prune: false, baseDir: process.cwd() })
  const wsMs = performance.now() - start
  client.close()

  const rate = (ms: number): number => N / (ms / 1000)
  const rows: Row[] = [
    { what: `raw LevelDB batches of ${N} tasks (the store's event, index entry and record text, 1000 a batch)`, value: rate(rawMs), unit: 'tasks/s' },
    { what: `ctl apply of ${N} tasks (whole command, validation and one atomic batch)`, value: rate(ctlMs), unit: 'tasks/s', target: 50_000, higherIsBetter: true, extra: `${ctlMs.toFixed(0)} ms, ${(rawMs / ctlMs).toFixed(2)}x raw` },
    { what: `WebSocket tasks.apply of ${N} tasks in ${parts} parts, sent without waiting`, value: rate(wsMs), unit: 'tasks/s', target: 50_000, higherIsBetter: true, extra: `${wsMs.toFixed(0)} ms, ${(rawMs / wsMs).toFixed(2)}x raw` },
  ]
  report('enqueue', rows)
} finally {
  await daemon.cleanup()
  await dir.remove()
}
