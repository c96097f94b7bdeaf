// A node of a cluster: its heartbeat in the shared store, and the watch over the others. A node silent
// past the node timeout (by the database's clock) is marked lost, and one of the live nodes records its
// runs `interrupted` and queues them again (the core decides it: a `lost` action). A node that finds
// itself marked lost was fenced: it joins again under a new epoch; what the log now says about its old
// runs (moved away) reaches it as events, and it ends them (supervisor.ts, `followed`).
import { freemem } from 'node:os'
import type { Action } from '../core/actions.js'
import type { Resources } from '../core/admission.js'
import { busyOn, myRuns, type State } from '../core/state.js'
import type { NodeRow, SharedLog } from '../store/store.js'

/** What membership needs of the supervisor: the state it follows, its machine sample, a way into the log. */
export interface Member {
  readonly state: State
  readonly resources: Resources
  request(action: Action): Promise<unknown>
}

export interface NodeView {
  name: string
  state: 'alive' | 'lost'
  lastSeen: string
  /** Milliseconds since its last heartbeat, by the database's clock. */
  silentMs: number
  /** Runs on it, as the log says. */
  running: number
  cpuPercent: number | null
  freeMemory: number | null
  version: string | null
  startedAt: string
  /** The node answering. */
  self: boolean
}

export interface MembershipOptions {
  node: string
  timeoutMs: number
  version: string
  /** Told after each beat whether this node holds the cluster's lead (it delivers webhooks). */
  onLead?: (leads: boolean) => void
  now?: () => number
}

/** How often a node beats: a third of the timeout (a beat or two may be late), at most every 5 s. */
export function beatEvery(timeoutMs: number): number {
  return Math.max(500, Math.min(5000, Math.floor(timeoutMs / 3)))
}

export class Membership {
  private epoch = 0
  private timer: NodeJS.Timeout | null = null
  private beating: Promise<void> | null = null
  private closed = false
  /**
   * Since when this node's beats have gone through one after the other, none failed and none late (a
   * gap of more than two beat periods: the database hung, or this process was paused). A node judges
   * others only after a whole node timeout of that: after an outage of the database every node's last
   * beat is old, and none may take the others for lost before they had the time to beat again.
   */
  private healthySince: number | null = null
  /** When the last beat of this node went through (null: the last one failed). */
  private lastBeat: number | null = null
  private readonly now: () => number

  constructor(
    private readonly store: SharedLog,
    private readonly supervisor: Member,
    private readonly options: MembershipOptions,
  ) {
    this.now = options.now ?? Date.now
  }

  /** Join: a new epoch for this name (a restarted daemon takes over its node at once). */
  async start(): Promise<void> {
    this.epoch = await this.store.registerNode(this.options.node, this.info())
    this.healthySince = this.lastBeat = this.now()
    this.options.onLead?.(await this.store.tryLead())
    this.timer = setInterval(() => void this.beat(), beatEvery(this.options.timeoutMs))
    this.timer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    await this.beating
  }

  /** One beat: say this node is alive, then look for nodes that are not. Never two at once. */
  beat(): Promise<void> {
    if (this.beating !== null || this.closed) return this.beating ?? Promise.resolve()
    this.beating = this.beatOnce()
      .catch((error: unknown) => process.emitWarning(`cluster heartbeat failed: ${(error as Error).message}`))
      .finally(() => (this.beating = null))
    return this.beating
  }

  private async beatOnce(): Promise<void> {
    const { node, timeoutMs } = this.options
    let alive: boolean
    try {
      alive = await this.store.heartbeat(node, this.epoch, this.info())
    } catch (error) {
      this.lastBeat = null
      throw error
    }
    const now = this.now()
    if (this.lastBeat === null || now - this.lastBeat > 2 * beatEvery(timeoutMs)) this.healthySince = now
    this.lastBeat = now
    if (!alive && !this.closed) {
      // Declared lost while this daemon was slow or cut off: its runs may have moved (the log tells,
      // and those runs are ended as it is read). It joins again.
      process.emitWarning(`node "${node}" was declared lost by the cluster (silent past ${timeoutMs} ms): joining again`)
      this.epoch = await this.store.registerNode(node, this.info())
    }
    if (this.healthySince !== null && now - this.healthySince >= timeoutMs) {
      for (const lost of await this.store.lostNodes(timeoutMs)) {
        if (lost.name === node || busyOn(this.supervisor.state, lost.name) === 0) continue
        await this.supervisor.request({ type: 'lost', now: this.now(), node: lost.name, silentMs: lost.silentMs })
      }
    }
    this.options.onLead?.(await this.store.tryLead())
  }

  private info(): Record<string, unknown> {
    const { resources } = this.supervisor
    return {
      running: [...myRuns(this.supervisor.state)].length, cpuPercent: resources.cpuPercent,
      freeMemory: resources.freeBytes ?? freemem(), version: this.options.version, pid: process.pid,
    }
  }

  /** Every node, as the store and the log see them now. */
  async nodes(): Promise<NodeView[]> {
    const rows = await this.store.nodes()
    const state = this.supervisor.state
    const running = new Map<string, number>()
    for (const task of state.running) if (task.node !== null) running.set(task.node, (running.get(task.node) ?? 0) + 1)
    return rows.map((row: NodeRow) => ({
      name: row.name, state: row.state, lastSeen: row.lastSeen, silentMs: row.silentMs, running: running.get(row.name) ?? 0,
      cpuPercent: numberOr(row.info['cpuPercent']), freeMemory: numberOr(row.info['freeMemory']),
      version: typeof row.info['version'] === 'string' ? row.info['version'] : null, startedAt: row.startedAt,
      self: row.name === this.options.node,
    }))
  }
}

const numberOr = (value: unknown): number | null => (typeof value === 'number' ? value : null)
