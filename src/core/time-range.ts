// The one range of instants the queue represents: every date it stores must print as an ISO string.

/** 1970-01-01T00:00:00.000Z. */
export const MIN_TIME = 0
/** 9999-12-31T23:59:59.999Z: the last instant with a four-digit year. */
export const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
/** How the range reads in messages. */
export const TIME_RANGE = '1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z'

export const inTimeRange = (ms: number): boolean => ms >= MIN_TIME && ms <= MAX_TIME

/** `ms` brought into the range (NaN counts as too late: it is never a reason to run early). */
export function clampTime(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIME
  return Math.min(MAX_TIME, Math.max(MIN_TIME, ms))
}
