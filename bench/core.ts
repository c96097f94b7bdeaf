// In-core figures: inserting 100k tasks in random order, their heap, and the cost of an idle tick.
import { decide } from '../src/core/decide.js'
import { reduce } from '../src/core/reducer.js'
import { createState, nextEventAt } from '../src/core/state.js'
import { forecast } from '../src/core/forecast.js'
import type { TaskEvent, TaskSpec } from '../src/core/types.js'
import { digestOf } from '../src/config/task-input.js'
import { heapUsed, parseArgs, report, type Row } from './report.js'

const { quick } = parseArgs()
const N = quick ? 20_000 : 100_000
const now = Date.UTC(2026, 10, 27)

function spec(i: number): TaskSpec {
  return {
    name: `task-${i}`, script: '/srv/jobs/run.sh', args: [], at: now + 3_600_000 + Math.floor(Math.random() * 86_400_000),
    deadline: i % 3 === 0 ? now + 200_000_000 : null, onDeadline: 'run', missed: 'once', overlap: 'skip', preemptible: false, manual: false, after: [], nodes: [], onSuccess: [], onFailure: null, priority: (['high', 'medium', 'low'] as const)[i % 3] ?? 'medium',
    front: false, retries: 3, restart: 'on-failure', cron: null, cronTz: null, backoff: null, timeoutMs: null, expectMs: null,
    memoryBytes: null, cwd: null, env: {}, envFile: null, user: null, digest: digestOf({ i }),
  }
}

const before = heapUsed()
// Through JSON, as records come from the database: no string is shared between tasks.
const specs = Array.from({ length: N }, (_, i) => JSON.parse(JSON.stringify(spec(i))) as TaskSpec)
const state = createState()
const started = performance.now()
let seq = 0
for (const s of specs) {
  for (const event of decide(state, { type: 'add', now, spec: s }).events) {
    reduce(state, { ...event, seq: ++seq, time: new Date(now).toISOString() } as TaskEvent)
  }
}
const insertMs = performance.now() - started
specs.length = 0
const after = heapUsed()

const ticks = 100_000
const tickStart = performance.now()
for (let i = 0; i < ticks; i += 1) {
  const next = nextEventAt(state)
  if (next !== null && next <= now) throw new Error('nothing should be due')
}
const tickNs = ((performance.now() - tickStart) * 1e6) / ticks

// The forecast over the same queue (what `ctl forecast` and every task view ask for): all of it
// falls due within the day, 3 slots, a minute a run. Median of 5.
const forecastMs = (maxStarts?: number): { ms: number; rows: number } => {
  const times: number[] = []
  let rows = 0
  for (let i = 0; i < 5; i += 1) {
    const t0 = performance.now()
    rows = forecast(state, now, { horizonMs: 2 * 86_400_000, unknownMs: 60_000, slots: 3, ...(maxStarts === undefined ? {} : { maxStarts }) }).rows.length
    times.push(performance.now() - t0)
  }
  return { ms: times.sort((a, b) => a - b)[2] as number, rows }
}
const wide = forecastMs()
const slotsWide = (() => {
  const t0 = performance.now()
  const rows = forecast(state, now, { horizonMs: 2 * 86_400_000, unknownMs: 1000, slots: 1000 }).rows.length
  return { ms: performance.now() - t0, rows }
})()

const rows: Row[] = [
  { what: `in-core insert of ${N} tasks, random dates`, value: insertMs, unit: 'ms', extra: `${Math.round(N / (insertMs / 1000))} tasks/s` },
  { what: `heap held by ${N} scheduled tasks`, value: (after - before) / 1024 / 1024, unit: 'MB', target: N === 100_000 ? 30 : undefined,
    extra: `${Math.round((after - before) / N)} B/task (node-schedule: 1.75 KB/job)` },
  { what: 'idle tick: is anything due (peek)', value: tickNs, unit: 'ns' },
  { what: `forecast of ${N} tasks due within 2 days, 3 slots, 1 min a run`, value: wide.ms, unit: 'ms', extra: `${wide.rows} runs forecast; computed on request only, never by the tick` },
  { what: `forecast of the same, 1000 slots, 1 s a run (every task starts within the horizon)`, value: slotsWide.ms, unit: 'ms', extra: `${slotsWide.rows} runs forecast` },
]
report('core', rows)
