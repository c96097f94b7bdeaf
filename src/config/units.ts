// Parsing the user's units: durations (500ms, 10s, 5m, 2h, 1d), sizes (512K, 2G, 10%) and dates.

export { MAX_TIME, MIN_TIME, TIME_RANGE, inTimeRange } from '../core/time-range.js'

/**
 * The longest duration any setting takes: 100 years (36500d). Whatever the queue computes from a
 * duration (now + timeout, a retry time, deadline - urgency) then stays a representable date until
 * the year 9899, and no sum of them loses precision.
 */
export const MAX_DURATION_MS = 36_500 * 86_400_000
export const MAX_DURATION = '36500d'

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds of a duration such as `500ms`, `10s`, `5m`, `2h`, `1d`; null if malformed. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim())
  if (match === null) return null
  return Math.round(Number(match[1]) * (DURATION_MS[match[2] as string] as number))
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?$/i
const PERCENT = /^(\d+(?:\.\d+)?)%$/
const SIZE_FACTOR: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }

/** Bytes of a size such as `1048576`, `512K`, `256M`, `2G` or `10%` of `totalBytes`; null if malformed. */
export function parseSize(text: string, totalBytes: number): number | null {
  const trimmed = text.trim()
  const percent = PERCENT.exec(trimmed)
  if (percent !== null) {
    const share = Number(percent[1])
    return share <= 100 ? Math.round((totalBytes * share) / 100) : null
  }
  const match = SIZE.exec(trimmed)
  if (match === null) return null
  return Math.round(Number(match[1]) * (SIZE_FACTOR[(match[2] as string).toUpperCase()] as number))
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/

/**
 * Epoch ms of `now`, `+DURATION` (from `now`), or an ISO 8601 date; a date without an offset is the
 * local time of this process. Null if malformed or not a real calendar date (Feb 30, 25:00).
 */
export function parseDate(text: string, now: number): number | null {
  const trimmed = text.trim()
  if (trimmed === 'now') return now
  if (trimmed.startsWith('+')) {
    const ms = parseDuration(trimmed.slice(1))
    return ms === null ? null : now + ms
  }
  const match = ISO.exec(trimmed)
  if (match === null) return null
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = match
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const
  const ms = Math.floor(Number(`0.${frac}`) * 1000)
  // setFullYear, not the constructor: the constructor reads years 0-99 as 1900-1999.
  const local = new Date(0)
  local.setFullYear(parts[0], parts[1], parts[2])
  local.setHours(parts[3], parts[4], parts[5], ms)
  const utc = new Date(0)
  utc.setUTCFullYear(parts[0], parts[1], parts[2])
  utc.setUTCHours(parts[3], parts[4], parts[5], ms)
  // Out-of-range fields roll over in Date; a real date reads back the same fields.
  if (utc.getUTCFullYear() !== parts[0] || utc.getUTCMonth() !== parts[1] || utc.getUTCDate() !== parts[2] || utc.getUTCHours() !== parts[3] ||
      utc.getUTCMinutes() !== parts[4] || utc.getUTCSeconds() !== parts[5]) return null
  if (zone === undefined) return local.getTime()
  return utc.getTime() - zoneOffsetMs(zone)
}

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const hours = Number(digits.slice(0, 2))
  const minutes = Number(digits.slice(2) || '0')
  return sign * (hours * 60 + minutes) * 60_000
}
