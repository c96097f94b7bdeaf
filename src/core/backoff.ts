// Retry waits: exponential, jittered, capped.
import type { BackoffPolicy } from './types.js'

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, factor: 2, capMs: 5 * 60_000 }

/** Largest jitter, as a fraction of the wait: small enough that waits still grow with factor 2. */
export const MAX_JITTER = 0.2

/**
 * Wait before retry number `retry` (1 for the first). `jitter` is a number in [-1, 1] drawn by the
 * caller, so the function stays pure. Never negative; it may be Infinity for a policy the boundary
 * would refuse, which the caller clamps to the last representable instant.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, jitter: number): number {
  const raw = policy.baseMs * policy.factor ** Math.max(0, retry - 1)
  const clamped = Math.max(-1, Math.min(1, jitter))
  const wait = Math.round(Math.min(policy.capMs, raw * (1 + clamped * MAX_JITTER)))
  return Number.isNaN(wait) ? policy.capMs : Math.max(0, wait)
}
