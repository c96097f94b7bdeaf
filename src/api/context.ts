// What request handlers may use of the running daemon.
import type { Limits } from '../core/admission.js'
import type { DaemonSettings } from '../config/daemon-settings.js'
import type { Clock } from '../runtime/ports.js'
import type { Supervisor } from '../runtime/supervisor.js'
import type { Store } from '../store/store.js'

export interface DaemonContext {
  supervisor: Supervisor
  store: Store
  settings: DaemonSettings
  limits: Limits
  totalMemory: number
  clock: Clock
  home: string
  startedAt: number
  /** Stop the daemon gracefully (answers first). */
  shutdown(): void
}

export type Scope = 'read' | 'admin'
