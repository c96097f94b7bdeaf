// Re-adoption: a daemon killed with 100 runs going, and a new one started on its home: how long from
// the new daemon's start until it watches all 100 again (same pids, none interrupted).
import { join } from 'node:path'
import { DaemonProcess, fixture } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { waitFor } from '../test/helpers/wait.js'
import type { TaskView } from '../src/core/view.js'
import { parseArgs, percentile, report, type Row } from './report.js'

const { quick } = parseArgs()
const RUNS = 100
const ROUNDS = quick ? 1 : 3
const FLAGS = ['--max-concurrent', String(RUNS), '--max-cpu', '100', '--min-free-memory', '0']

async function round(): Promise<{ readoptMs: number; coldMs: number }> {
  const dir = await tempDir('supervisor-readopt-')
  const home = join(dir.path, 'home')
  const daemons: DaemonProcess[] = []
  try {
    const first = await DaemonProcess.start(home, FLAGS, { follow: false })
    daemons.push(first)
    for (let i = 0; i < RUNS; i += 1) await first.add(`run-${i}`, ['--script', fixture('sleep.sh'), '--', '120'])
    const running = (): Promise<TaskView[]> => first.ctlJson<TaskView[]>(['list'])
    const before = await waitFor(async () => ((await running()).every((t) => t.state === 'running') ? running() : null), 'all running', 60_000)
    const pids = new Map(before.map((t) => [t.name, t.pid]))
    await first.crash()
    const t0 = performance.now()
    const second = await DaemonProcess.start(home, FLAGS, { follow: false })
    daemons.push(second)
    const coldMs = performance.now() - t0
    await waitFor(async () => {
      const now = await second.ctlJson<TaskView[]>(['list'])
      return now.every((t) => t.state === 'running' && t.pid === pids.get(t.name)) || null
    }, 'all re-adopted', 60_000)
    const readoptMs = performance.now() - t0
    const interrupted = (await second.ctlJson<{ type: string; outcome?: string }[]>(['history', '--limit', '100000']))
      .filter((e) => e.type === 'run.exited' && e.outcome === 'interrupted').length
    if (interrupted > 0) throw new Error(`${interrupted} runs interrupted`)
    return { readoptMs, coldMs }
  } finally {
    for (const daemon of daemons.reverse()) await daemon.cleanup()
    await dir.remove()
  }
}

const rounds: { readoptMs: number; coldMs: number }[] = []
for (let i = 0; i < ROUNDS; i += 1) rounds.push(await round())
const rows: Row[] = [
  { what: `daemon restart with ${RUNS} runs going: start to listening`, value: percentile(rounds.map((r) => r.coldMs), 50), unit: 'ms',
    extra: `rounds: ${rounds.map((r) => r.coldMs.toFixed(0)).join(', ')}` },
  { what: `daemon restart with ${RUNS} runs going: start to all re-adopted (same pids, none interrupted)`, value: percentile(rounds.map((r) => r.readoptMs), 50), unit: 'ms',
    extra: `rounds: ${rounds.map((r) => r.readoptMs.toFixed(0)).join(', ')}` },
]
report('re-adoption', rows)
