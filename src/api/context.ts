// What request handlers may use of the running daemon.
import type { Limits } from '../core/admission.js'
import type { DaemonSettings } from '../config/daemon-settings.js'
import type { Clock } from '../runtime/ports.js'
import type { Supervisor } from '../runtime/supervisor.js'
import type { Store } from '../store/store.js'
import type { ErrorGroup } from '../core/failures.js'
import type { DaemonMetrics } from './metrics.js'
import type { TokenRegistry } from './tokens.js'

import type { NodeView } from '../runtime/cluster.js'

export interface DaemonContext {
  supervisor: Supervisor
  store: Store
  settings: DaemonSettings
  limits: Limits
  totalMemory: number
  clock: Clock
  tokens: TokenRegistry
  home: string
  startedAt: number
  /** Prometheus metrics (GET /metrics); absent in daemons built without them (tests). */
  metrics?: DaemonMetrics
  /** Webhook deliveries given up, for `errors.list`. */
  webhookErrors?: () => ErrorGroup[]
  /** Read the daemon's --config file again: its tasks applied, its live settings changed (`ctl reload`, SIGHUP). */
  reload?: () => Promise<ReloadResult>
  /** The nodes of the cluster (a shared store); absent for a daemon on its own. */
  nodes?: () => Promise<NodeView[]>
  /** Stop the daemon gracefully (answers first); `keepRunning`: leave the runs to the launcher. */
  shutdown(keepRunning?: boolean): void
}

export interface ReloadResult {
  file: string
  tasks: { added: number; updated: number; removed: number }
  /** Settings changed now, by name. */
  settings: string[]
  /** Settings that differ in the file but need a restart to change. */
  needRestart: string[]
}

/** What a caller may do: `read` and `admin` come with tokens; `owner` is the control socket's user. */
export type Scope = 'read' | 'admin' | 'owner'

const SCOPE_RANK: Record<Scope, number> = { read: 0, admin: 1, owner: 2 }

export function allows(have: Scope, need: Scope): boolean {
  return SCOPE_RANK[have] >= SCOPE_RANK[need]
}
