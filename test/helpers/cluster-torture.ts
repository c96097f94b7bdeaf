// Cluster torture: three nodes on one PostgreSQL queue under a mixed workload; at random moments a
// node's daemon is SIGKILLed and restarted within the node timeout (its runs must be re-adopted), or
// the whole node is lost (daemon, launcher and runs killed) and comes back after the timeout (its runs
// must be moved and run elsewhere). Then every invariant is checked on the one history.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'
import { DaemonProcess, fixture } from './daemon-process.js'
import { check, killQuietly, leftovers, writeWorkload } from './torture.js'
import { waitFor } from './wait.js'

export interface ClusterTortureOptions {
  url: string
  dir: string
  tasks: number
  kills: number
  /** Longest pause between two kills, in ms. */
  maxPauseMs: number
  log?: (line: string) => void
}

export interface ClusterTortureReport {
  tasks: number
  restarts: number
  losses: number
  events: number
  interrupted: number
  byNode: Record<string, number>
  problems: string[]
}

const NODES = ['n1', 'n2', 'n3']
const TIMEOUT_MS = 5000
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function clusterTorture(options: ClusterTortureOptions): Promise<ClusterTortureReport> {
  const log = options.log ?? (() => undefined)
  const file = join(options.dir, 'workload.json')
  const kinds = await writeWorkload(file, options.tasks)
  // Runs that last (2 s), due over the first minute: a node lost or crashed has some going on.
  const document = JSON.parse(await readFile(file, 'utf8')) as { tasks: object[] }
  const slow = Math.ceil(options.tasks / 10)
  for (let i = 0; i < slow; i += 1) {
    const name = `once-slow-${i}`
    kinds.set(name, 'once')
    document.tasks.push({ name, script: fixture('sleep.sh'), args: ['2'], at: `+${Math.round((i * 60) / slow)}s` })
  }
  await writeFile(file, JSON.stringify(document))
  const homes = NODES.map((name) => join(options.dir, `home-${name}`))
  const flags = (i: number): string[] => [
    '--store', options.url, '--node', NODES[i] as string, '--node-timeout', `${TIMEOUT_MS / 1000}s`,
    '--max-concurrent', '6', '--min-free-memory', '0', '--kill-timeout', '1s', ...(i === 0 ? ['--config', file] : []),
  ]
  const daemons: (DaemonProcess | null)[] = []
  for (let i = 0; i < NODES.length; i += 1) daemons.push(await DaemonProcess.start(homes[i] as string, flags(i), { follow: false }))
  let restarts = 0
  let losses = 0
  try {
    for (let kill = 0; kill < options.kills; kill += 1) {
      await sleep(Math.random() * options.maxPauseMs)
      const i = Math.floor(Math.random() * NODES.length)
      const daemon = daemons[i] as DaemonProcess
      const lose = Math.random() < 0.3
      const launcher = lose ? await daemon.launcherPid().catch(() => null) : null
      await daemon.crash()
      daemons[i] = null
      if (lose) {
        // The node is gone: its launcher and its runs with it. It comes back after the others moved its runs.
        if (launcher !== null) killQuietly(launcher)
        for (const group of leftovers(homes[i] as string)) killQuietly(-group)
        losses += 1
        await sleep(TIMEOUT_MS + 2500)
      } else {
        restarts += 1
        await sleep(Math.random() * 1000)
      }
      daemons[i] = await DaemonProcess.start(homes[i] as string, flags(i), { follow: false })
      log(`${kill + 1} kills (${losses} node losses)`)
    }
    const first = daemons[0] as DaemonProcess
    const settled = (t: TaskView): boolean => {
      const kind = kinds.get(t.name)
      if (kind === 'service') return true
      return t.state === (kind === 'failing' ? 'failed' : 'succeeded')
    }
    await waitFor(async () => (await first.ctlJson<TaskView[]>(['list'])).every(settled), 'every task to settle', 180_000, 100)
    const tasks = await first.ctlJson<TaskView[]>(['list'])
    const history = await first.ctlJson<TaskEvent[]>(['history', '--limit', '100000'])
    const base = check(kinds, tasks, history)
    const problems = [...base.problems, ...clusterProblems(history)]
    if (losses === 0 && base.interrupted > 0) problems.push(`${base.interrupted} runs interrupted though no node was lost`)
    const byNode: Record<string, number> = {}
    for (const event of history) if (event.type === 'run.started') byNode[event.node ?? '?'] = (byNode[event.node ?? '?'] ?? 0) + 1
    return { tasks: tasks.length - slow, restarts, losses, events: history.length, interrupted: base.interrupted, byNode, problems }
  } finally {
    for (const daemon of daemons) await daemon?.cleanup()
    for (const home of homes) for (const group of leftovers(home)) killQuietly(-group)
  }
}

/**
 * What a shared log must show: seqs 1, 2, 3... without a gap (one total order, no reservation); per
 * task, never a start while its previous run has no recorded end; a claim followed by that node's
 * start or by the claim's end, never by another node's start.
 */
function clusterProblems(history: readonly TaskEvent[]): string[] {
  const problems: string[] = []
  history.forEach((event, i) => {
    if (i > 0 && event.seq !== (history[i - 1] as TaskEvent).seq + 1) problems.push(`seq ${event.seq} follows ${(history[i - 1] as TaskEvent).seq}: a gap`)
  })
  const live = new Map<string, number>()
  const claims = new Map<string, string>()
  for (const event of history) {
    if (event.type === 'run.claimed') {
      if (claims.has(event.task)) problems.push(`${event.task}: claimed by ${event.node} while claimed by ${claims.get(event.task)}`)
      claims.set(event.task, event.node)
    } else if (event.type === 'run.started') {
      const claim = claims.get(event.task)
      if (claim !== undefined && claim !== event.node) problems.push(`${event.task}: started on ${event.node ?? '?'} though ${claim} claimed it`)
      claims.delete(event.task)
      const running = live.get(event.task)
      if (running !== undefined) problems.push(`${event.task}: started (pid ${event.pid}) while its run ${running} had no recorded end`)
      live.set(event.task, event.pid)
    } else if (event.type === 'run.exited') {
      if (event.pid === null) claims.delete(event.task)
      else if (live.get(event.task) === event.pid) live.delete(event.task)
    }
  }
  return problems
}
