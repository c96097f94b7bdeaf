// The forecast as the API gives it: the rows of `ctl forecast`, and each task's expected start, end
// and risk in its JSON. Computed when asked (never by the tick), and once for the default horizon per
// change of the state or second of time, so that a `list` of 100,000 tasks simulates once, not per task.
import { nextCronTime } from '../core/calendar.js'
import { forecast, type Forecast, type ForecastResult } from '../core/forecast.js'
import { LIVE_STATES, type Task } from '../core/types.js'
import { NO_TIMES, type TaskTimes } from '../core/view.js'
import type { DaemonContext } from './context.js'

/** How far ahead task views look. */
export const VIEW_HORIZON_MS = 24 * 60 * 60 * 1000
/** At most this many starts are simulated for a view; beyond, tasks show no forecast. */
const MAX_STARTS = 20_000

const cache = new WeakMap<DaemonContext, { seq: number; second: number; result: ForecastResult }>()

/**
 * The forecast over `horizonMs`. `until`: only that task's start is wanted (one task's view): the
 * simulation stops once it is placed, unless a whole one is at hand from the same moment.
 */
export function forecastOf(ctx: DaemonContext, horizonMs: number = VIEW_HORIZON_MS, until?: string): ForecastResult {
  const { state } = ctx.supervisor
  const now = ctx.clock.now()
  const second = Math.floor(now / 1000)
  const view = horizonMs === VIEW_HORIZON_MS
  const cached = cache.get(ctx)
  if (view && cached !== undefined && cached.seq === state.seq && cached.second === second) return cached.result
  const result = forecast(state, now, {
    horizonMs, unknownMs: ctx.settings.defaultExpectMs, slots: ctx.limits.maxConcurrent, limits: ctx.limits,
    ...(view ? { maxStarts: MAX_STARTS } : {}), ...(until === undefined ? {} : { until }),
  })
  if (view && until === undefined) cache.set(ctx, { seq: state.seq, second, result })
  return result
}

const iso = (ms: number): string | null => (Number.isFinite(ms) ? new Date(ms).toISOString() : null)

/** A task's forecast fields: a live task not forecast to start within the horizon is at risk if its deadline falls in it. */
export function timesOf(task: Task, result: ForecastResult): TaskTimes {
  if (!LIVE_STATES.has(task.state)) return NO_TIMES
  const row = result.byTask.get(task.spec.name)
  if (row !== undefined) return { expectedStart: iso(row.start), expectedEnd: iso(row.end), atRisk: row.atRisk }
  const { deadline } = task.spec
  return { ...NO_TIMES, atRisk: !result.truncated && deadline !== null && deadline <= result.horizonEnd }
}

/** Most later cron slots a row lists (a schedule every minute would otherwise list hundreds). */
const MAX_SLOTS = 48

/**
 * A cron task's slots after its forecast start, up to `until`: the forecast places only a task's next
 * run, the timeline marks the ones after it.
 */
export function laterSlots(task: Task | undefined, start: number, until: number): string[] {
  const slots: string[] = []
  if (task?.spec.cron == null || !Number.isFinite(start)) return slots
  for (let at = nextCronTime(task.spec.cron, task.spec.cronTz, start + 1); at !== null && at <= until && slots.length < MAX_SLOTS;) {
    slots.push(new Date(at).toISOString())
    at = nextCronTime(task.spec.cron, task.spec.cronTz, at + 1)
  }
  return slots
}

/** A row of `ctl forecast` as JSON. */
export function forecastRow(row: Forecast): { task: string; start: string | null; end: string | null; deadline: string | null; atRisk: boolean; running: boolean } {
  return { task: row.task, start: iso(row.start), end: iso(row.end), deadline: row.deadline === null ? null : iso(row.deadline), atRisk: row.atRisk, running: row.running }
}
