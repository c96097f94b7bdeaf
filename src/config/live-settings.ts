// Which daemon settings a live reload changes, and which only a restart can (the listener's address).
import type { DaemonSettings } from './daemon-settings.js'

/** Each setting as a user names it: the ecosystem's `supervisor` key (the flag is its kebab-case). */
const NAMES: Record<keyof DaemonSettings, string> = {
  host: 'host', port: 'port', tickMs: 'tick', maxConcurrent: 'maxConcurrent', maxCpu: 'maxCpu', minFreeBytes: 'minFreeMemory',
  killTimeoutMs: 'killTimeout', urgencyMs: 'urgency', stableMs: 'stableAfter', defaultExpectMs: 'defaultExpect', backoff: 'backoff',
  logMaxBytes: 'logMaxSize', logFiles: 'logFiles', historyKeep: 'historyKeep', apiUsers: 'apiUsers', maxConnections: 'maxConnections',
  defaultOnFailure: 'onFailure', notify: 'notify', store: 'store', node: 'node', nodeTimeoutMs: 'nodeTimeout',
}

/** The listener is bound and the store opened once: a new address or store needs a new daemon. */
const NEED_RESTART: ReadonlySet<keyof DaemonSettings> = new Set(['host', 'port', 'store', 'node', 'nodeTimeoutMs'])

export interface SettingsChange {
  /** Settings that take effect now. */
  live: string[]
  /** Settings that differ but keep their old value until the daemon restarts. */
  restart: string[]
}

/** What differs between two resolved settings, by the names users write. */
export function settingsChange(before: DaemonSettings, after: DaemonSettings): SettingsChange {
  const change: SettingsChange = { live: [], restart: [] }
  for (const key of Object.keys(NAMES) as (keyof DaemonSettings)[]) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue
    ;(NEED_RESTART.has(key) ? change.restart : change.live).push(NAMES[key])
  }
  return change
}

/** `after` with the settings that need a restart kept as they are in `before`. */
export function liveSettings(before: DaemonSettings, after: DaemonSettings): DaemonSettings {
  return { ...after, host: before.host, port: before.port, store: before.store, node: before.node, nodeTimeoutMs: before.nodeTimeoutMs }
}
