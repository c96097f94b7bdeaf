// Cron schedules (5 or 6 fields, optional time zone), through croner.
import { nextCronTime, schedule } from '../core/calendar.js'

export { nextCronTime }

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
