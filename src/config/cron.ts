// Cron schedules (5 or 6 fields, optional time zone), through croner.
import { Cron } from 'croner'
import { inTimeRange } from '../core/time-range.js'

function schedule(expression: string, tz: string | null): Cron {
  return new Cron(expression, { paused: true, ...(tz === null ? {} : { timezone: tz }) })
}

/** Null if the expression (and zone) are valid, else what is wrong. */
export function cronProblem(expression: string, tz: string | null): string | null {
  const fields = expression.trim().split(/\s+/).length
  if (fields !== 5 && fields !== 6) return `expected 5 or 6 fields, got ${fields} in ${JSON.stringify(expression)}`
  try {
    const next = schedule(expression, tz).nextRun()
    return next === null ? `${JSON.stringify(expression)} never fires` : null
  } catch (error) {
    return `${JSON.stringify(expression)}: ${(error as Error).message}`
  }
}

/** The first occurrence at or after `from` (epoch ms), or null if there is none up to year 9999. */
export function nextCronTime(expression: string, tz: string | null, from: number): number | null {
  // Out of range, `from` would be an Invalid Date, which croner reads as "now".
  if (!inTimeRange(from)) return null
  const next = schedule(expression, tz).nextRun(new Date(from - 1))?.getTime() ?? null
  return next !== null && inTimeRange(next) ? next : null
}
