// Crash torture: a mixed workload, the daemon SIGKILLed at random moments and restarted, then every
// invariant of "nothing is lost" checked on the history. Shared by `npm run torture` and a short test.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'
import { strayGroups } from '../../src/runtime/proc.js'
import { DaemonProcess, fixture } from './daemon-process.js'
import { waitFor } from './wait.js'

export interface TortureOptions {
  home: string
  dir: string
  tasks: number
  kills: number
  /** Longest life of a daemon before it is killed, in ms (each life is uniform in [0, this]). */
  maxLifeMs: number
  /** Kill the launcher with the daemon each time (the at-least-once path), not the daemon alone. */
  killLauncher?: boolean
  log?: (line: string) => void
}

export interface TortureReport {
  tasks: number
  kills: number
  events: number
  interrupted: number
  problems: string[]
}

export type Kind = 'once' | 'failing' | 'dated' | 'service'

function kindOf(i: number, total: number): Kind {
  if (i === total - 1) return 'service'
  if (i % 7 === 0) return 'failing'
  if (i % 5 === 0) return 'dated'
  return 'once'
}

export async function writeWorkload(file: string, total: number): Promise<Map<string, Kind>> {
  const kinds = new Map<string, Kind>()
  const tasks = Array.from({ length: total }, (_, i) => {
    const kind = kindOf(i, total)
    const name = `${kind}-${i}`
    kinds.set(name, kind)
    switch (kind) {
      case 'failing':
        return { name, script: fixture('fail.sh'), args: ['4'], retries: 1, backoff: { base: '100ms', cap: '1s' } }
      case 'dated':
        return { name, script: fixture('ok.sh'), at: `+${1 + (i % 5)}s` }
      case 'service':
        return { name, script: fixture('sleep.sh'), args: ['0.3'], restart: 'always' }
      case 'once':
        return { name, script: fixture('ok.sh'), priority: (['high', 'medium', 'low'] as const)[i % 3] }
    }
  })
  await writeFile(file, JSON.stringify({ tasks }))
  return kinds
}

const FLAGS = ['--max-concurrent', '8', '--min-free-memory', '0', '--kill-timeout', '1s']

export async function torture(options: TortureOptions): Promise<TortureReport> {
  const log = options.log ?? (() => undefined)
  const file = join(options.dir, 'workload.json')
  const kinds = await writeWorkload(file, options.tasks)
  const config = ['--config', file, ...FLAGS]
  for (let kill = 0; kill < options.kills; kill += 1) {
    const daemon = await DaemonProcess.start(options.home, config)
    await new Promise((resolve) => setTimeout(resolve, Math.random() * options.maxLifeMs))
    const launcher = options.killLauncher === true ? await daemon.launcherPid().catch(() => null) : null
    await daemon.crash()
    if (launcher !== null) killQuietly(launcher)
    if ((kill + 1) % 10 === 0) log(`${kill + 1} kills`)
  }
  const final = await DaemonProcess.start(options.home, config)
  try {
    const settled = (t: TaskView): boolean => {
      const kind = kinds.get(t.name)
      if (kind === 'service') return true
      return t.state === (kind === 'failing' ? 'failed' : 'succeeded')
    }
    await waitFor(async () => (await final.ctlJson<TaskView[]>(['list'])).every(settled), 'every task to settle', 120_000)
    const tasks = await final.ctlJson<TaskView[]>(['list'])
    const history = await final.ctlJson<TaskEvent[]>(['history', '--limit', '100000'])
    return { tasks: tasks.length, kills: options.kills, events: history.length, ...check(kinds, tasks, history), }
  } finally {
    await final.cleanup()
  }
}

export function check(kinds: Map<string, Kind>, tasks: TaskView[], history: TaskEvent[]): { interrupted: number; problems: string[] } {
  const problems: string[] = []
  const names = new Set(tasks.map((t) => t.name))
  for (const name of kinds.keys()) if (!names.has(name)) problems.push(`${name} vanished`)
  // Seqs only grow: a kill -9 lets them jump past the reserved ones (see seq-reservation.ts), never repeat.
  history.forEach((event, i) => {
    const before = history[i - 1]?.seq ?? 0
    if (event.seq <= before) problems.push(`event ${i} has seq ${event.seq}, not past ${before} (reuse or disorder)`)
  })
  const count = (task: string, match: (e: TaskEvent) => boolean): number => history.filter((e) => e.task === task && match(e)).length
  for (const [name, kind] of kinds) {
    const succeeded = count(name, (e) => e.type === 'task.succeeded')
    if ((kind === 'once' || kind === 'dated') && succeeded !== 1) problems.push(`${name} succeeded ${succeeded} times`)
    if (kind === 'failing') {
      const failed = count(name, (e) => e.type === 'task.failed')
      const failures = count(name, (e) => e.type === 'run.exited' && e.outcome === 'failed')
      if (failed !== 1) problems.push(`${name} reported failed ${failed} times`)
      if (failures !== 2) problems.push(`${name} failed ${failures} runs, expected 2 (retries 1)`)
    }
    const starts = history.filter((e): e is Extract<TaskEvent, { type: 'run.started' }> => e.task === name && e.type === 'run.started')
    const exits = history.filter((e): e is Extract<TaskEvent, { type: 'run.exited' }> => e.task === name && e.type === 'run.exited')
    // The task's last event may be the start of a run still going (the service's, read while it runs);
    // every earlier start must have its end.
    const last = history.filter((e) => e.task === name).at(-1)
    for (const start of starts) {
      if (start === last) continue
      if (!exits.some((e) => e.pid === start.pid)) problems.push(`${name}: the run of pid ${start.pid} has no recorded end`)
    }
  }
  const interrupted = history.filter((e) => e.type === 'run.exited' && e.outcome === 'interrupted').length
  return { interrupted, problems }
}

/** Processes still alive that were started for this home: must be none once the last daemon stopped. */
export function leftovers(home: string): number[] {
  return [...strayGroups(home)]
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Gone already (it leaves once nothing is left to keep).
  }
}
