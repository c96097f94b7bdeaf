// How much the HTTP/WebSocket listener may hold: its connections are bounded so that descriptors stay
// in reserve for the store, the log files and the control socket (20k idle connections once starved them).
import { readFileSync } from 'node:fs'

/** Descriptors kept from the listener: LevelDB's table cache alone may hold up to 1000 files. */
export const DESCRIPTOR_RESERVE = 1024
/** The bound when the open-files limit cannot be read (no /proc). */
export const FALLBACK_BOUND = 512

/** How long the listener waits on a client: idle and slow ones must not hold descriptors. */
export interface HttpTimeouts {
  /** Until a request's headers are complete, counted from the connection's start (idle ones included). */
  headersMs: number
  /** Until a whole request is in. */
  requestMs: number
  /** Between requests on a kept-alive connection. */
  keepAliveMs: number
  /** Of silence on a connection before it is closed. */
  idleMs: number
  /** How often the first two are checked. */
  checkEveryMs: number
}

export const HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 15_000, keepAliveMs: 5_000, idleMs: 30_000, checkEveryMs: 1_000 }

/** The soft RLIMIT_NOFILE from /proc/self/limits, or null if it cannot be read or is unlimited. */
export function softOpenFiles(limits?: string): number | null {
  let text = limits
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8')
    } catch {
      return null
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1]
  return soft === undefined || !/^\d+$/.test(soft) ? null : Number(soft)
}

/**
 * Connections the listener may hold: the soft open-files limit less a reserve (at most half of it),
 * lowered further by the `maxConnections` setting.
 */
export function connectionBound(soft: number | null, configured: number | null): number {
  const derived = soft === null ? FALLBACK_BOUND : Math.max(1, soft - Math.min(DESCRIPTOR_RESERVE, Math.floor(soft / 2)))
  return configured === null ? derived : Math.min(configured, derived)
}
