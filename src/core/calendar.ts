// Cron calendars (through croner): a schedule's next slot. Pure: the same expression, zone and moment
// give the same slot, so the core decides cron slots itself and logs what it decided.
import { Cron } from 'croner'
import { inTimeRange } from './time-range.js'

export function schedule(expression: string, tz: string | null): Cron {
  return new Cron(expression, { paused: true, ...(tz === null ? {} : { timezone: tz }) })
}

/**
 * The first occurrence at or after `from` (epoch ms), or null if there is none up to year 9999. Slots
 * keep to the wall clock of the zone: a time that does not exist on a spring-forward day fires at the
 * first moment after the gap, a time that happens twice on a fall-back day fires once (the first).
 */
export function nextCronTime(expression: string, tz: string | null, from: number): number | null {
  // Out of range, `from` would be an Invalid Date, which croner reads as "now".
  if (!inTimeRange(from)) return null
  const next = schedule(expression, tz).nextRun(new Date(from - 1))?.getTime() ?? null
  return next !== null && inTimeRange(next) ? next : null
}
