// What `daemon.info` (and `ctl info`) tells about the daemon: who it is, what it holds, whether it can write.
import { readFileSync } from 'node:fs'
import type { Degraded } from '../runtime/dispatcher.js'
import { redact } from '../store/pg-store.js'
import type { NodeView } from '../runtime/cluster.js'
import type { DaemonContext } from './context.js'

export interface DaemonInfo {
  pid: number
  /** The launcher helper's pid (null while there is none: it starts again with the next run). */
  launcherPid: number | null
  /** How runs are contained: a cgroup each, or process groups where the kernel offers no cgroups. */
  containment: string
  version: string
  /** This daemon's node name (its runs carry it). */
  node: string
  home: string
  /** Where the queue lives: `leveldb`, or the PostgreSQL URL without its password. */
  store: string
  startedAt: string
  tasks: number
  ready: number
  running: number
  /** Starts and exits reported but not written yet (they wait for the store while it is degraded). */
  unrecorded: number
  /** Null, or since when and why writes to the task database fail. */
  degraded: Degraded | null
}

/** package.json ships beside dist/ (dist/src/api -> the package root), read once. */
export const VERSION = ((): string => {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    return typeof manifest.version === 'string' ? manifest.version : 'unknown'
  } catch {
    return 'unknown'
  }
})()

export function daemonInfo(ctx: DaemonContext): DaemonInfo {
  const { supervisor } = ctx
  const { state } = supervisor
  return {
    pid: process.pid,
    ...supervisor.runtime,
    version: VERSION,
    home: ctx.home,
    store: ctx.settings.store === null ? 'leveldb' : redact(ctx.settings.store),
    node: ctx.settings.node,
    startedAt: new Date(ctx.startedAt).toISOString(),
    tasks: state.tasks.size,
    ready: state.ready.size,
    running: state.running.size,
    unrecorded: supervisor.unrecorded,
    degraded: supervisor.degraded,
  }
}

/**
 * The problem as /health (no token) shows it: absolute paths cut to their last part, so that an
 * unauthenticated caller learns that writes fail and why, not where the daemon keeps its files.
 */
export function publicProblem(problem: string): string {
  return problem.replace(/(?:\/[^/\s:]+)+\/([^/\s:]+)/g, '$1')
}

/** The nodes: a cluster's as its store keeps them; a daemon on its own is its one node, alive. */
export async function nodeViews(ctx: DaemonContext): Promise<NodeView[]> {
  if (ctx.nodes !== undefined) return ctx.nodes()
  const { supervisor } = ctx
  const now = new Date(ctx.clock.now()).toISOString()
  return [{
    name: ctx.settings.node, state: 'alive', lastSeen: now, silentMs: 0, running: supervisor.state.running.size,
    cpuPercent: supervisor.resources.cpuPercent, freeMemory: supervisor.resources.freeBytes, version: VERSION,
    startedAt: new Date(ctx.startedAt).toISOString(), self: true,
  }]
}
