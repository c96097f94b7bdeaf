// Prometheus metrics of the daemon, through prom-client: gauges counted from the state when scraped,
// counters and histograms fed by the events as they are logged. No label names a task: 100,000 tasks
// must not become 100,000 series.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Blocked } from '../core/admission.js'
import { PRIORITIES, type Outcome, type TaskEvent, type TaskState } from '../core/types.js'
import type { Supervisor } from '../runtime/supervisor.js'

const STATES: readonly TaskState[] = ['scheduled', 'ready', 'running', 'retrying', 'succeeded', 'failed', 'stopped', 'expired', 'skipped']
const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'timeout', 'killed', 'interrupted', 'stopped', 'deadline', 'preempted']
const HOLDS = ['concurrency', 'cpu', 'memory'] as const
type Hold = (typeof HOLDS)[number]
const LINT_FAILURES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']
const UNFINISHED: ReadonlySet<TaskState> = new Set(['scheduled', 'ready', 'running', 'retrying'])

/** What holds the queue back, from the planner's reason ("3/3 running", "cpu 93% >= 85%", "memory: ..."). */
export function holdOf(blocked: Blocked | null): Hold | null {
  if (blocked === null) return null
  if (blocked.reason.startsWith('cpu')) return 'cpu'
  if (blocked.reason.startsWith('memory')) return 'memory'
  return 'concurrency'
}

export class DaemonMetrics {
  readonly registry = new Registry()
  private readonly unsubscribe: () => void
  private hold: Hold | null = null
  private readonly runs: Counter<'outcome'>
  private readonly durations: Histogram
  private readonly lateness: Histogram<'priority'>
  private readonly missed: Counter
  private readonly bumps: Counter
  private readonly failed: Counter
  private readonly holds: Counter<'reason'>
  private readonly written: Counter
  private readonly notified: Counter
  private readonly notifyFailed: Counter

  constructor(private readonly supervisor: Supervisor, wsClients: () => number) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    // Gauges named like counters (promtool's lint refuses them); the same counts without `_total` stay.
    for (const name of LINT_FAILURES) this.registry.removeSingleMetric(name)
    const { state } = supervisor
    new Gauge({
      name: 'supervisor_tasks', help: 'Tasks by state', labelNames: ['state'], registers,
      collect() {
        const counts = new Map<TaskState, number>(STATES.map((s) => [s, 0]))
        for (const task of state.tasks.values()) counts.set(task.state, (counts.get(task.state) ?? 0) + 1)
        for (const [s, n] of counts) this.set({ state: s }, n)
      },
    })
    new Gauge({
      name: 'supervisor_tasks_by_priority', help: 'Unfinished tasks by effective priority (deadline bumps and demotions applied)',
      labelNames: ['priority'], registers,
      collect() {
        const counts = new Map<string, number>(PRIORITIES.map((p) => [p, 0]))
        for (const task of state.tasks.values()) if (UNFINISHED.has(task.state)) counts.set(task.priority, (counts.get(task.priority) ?? 0) + 1)
        for (const [p, n] of counts) this.set({ priority: p }, n)
      },
    })
    const held = (): Hold | null => this.hold
    new Gauge({
      name: 'supervisor_admission_held', help: 'Whether due tasks are held back now, by reason (1 or 0)', labelNames: ['reason'], registers,
      collect() {
        const now = held()
        for (const reason of HOLDS) this.set({ reason }, now === reason ? 1 : 0)
      },
    })
    new Gauge({
      name: 'supervisor_degraded', help: '1 while the daemon cannot write its log (starts, exits and requests wait or fail)', registers,
      collect() {
        this.set(supervisor.degraded === null ? 0 : 1)
      },
    })
    new Gauge({
      name: 'supervisor_websocket_clients', help: 'Open WebSocket connections', registers,
      collect() {
        this.set(wsClients())
      },
    })
    const { dispatcher } = supervisor
    let conflicts = 0
    new Counter({
      name: 'supervisor_log_conflicts_total', help: 'Writes decided again because another node of the cluster committed first (contention)', registers,
      collect() {
        this.inc(dispatcher.conflicts - conflicts)
        conflicts = dispatcher.conflicts
      },
    })
    this.runs = new Counter({ name: 'supervisor_runs_total', help: 'Runs ended, by outcome', labelNames: ['outcome'], registers })
    for (const outcome of OUTCOMES) this.runs.inc({ outcome }, 0)
    this.durations = new Histogram({
      name: 'supervisor_run_duration_seconds', help: 'How long runs took', registers,
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    })
    this.lateness = new Histogram({
      name: 'supervisor_start_lateness_seconds', help: 'From due to started, by effective priority at the start (starvation shows here)',
      labelNames: ['priority'], registers, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 900, 3600],
    })
    for (const priority of PRIORITIES) this.lateness.zero({ priority })
    this.missed = new Counter({ name: 'supervisor_deadline_missed_total', help: 'Deadlines passed before the task succeeded in its cycle', registers })
    this.bumps = new Counter({ name: 'supervisor_deadline_bumps_total', help: 'Tasks bumped to high as their deadline window opened', registers })
    this.failed = new Counter({ name: 'supervisor_tasks_failed_total', help: 'Cycles that ended failed for good (retries spent)', registers })
    this.holds = new Counter({ name: 'supervisor_admission_holds_total', help: 'Times due tasks began to be held back, by reason', labelNames: ['reason'], registers })
    for (const reason of HOLDS) this.holds.inc({ reason }, 0)
    this.written = new Counter({ name: 'supervisor_events_written_total', help: 'Events written to the log', registers })
    this.notified = new Counter({ name: 'supervisor_notify_delivered_total', help: 'Webhook deliveries a receiver accepted', registers })
    this.notifyFailed = new Counter({ name: 'supervisor_notify_failed_total', help: 'Webhook deliveries given up (refused, or out of attempts)', registers })
    this.unsubscribe = supervisor.dispatcher.subscribe((events) => this.count(events))
    supervisor.onPlanned = (blocked) => this.planned(blocked)
  }

  /** A webhook delivery landed, or was given up. */
  webhook(delivered: boolean): void {
    ;(delivered ? this.notified : this.notifyFailed).inc()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  close(): void {
    this.unsubscribe()
    this.supervisor.onPlanned = null
    this.registry.clear()
  }

  private planned(blocked: Blocked | null): void {
    const hold = holdOf(blocked)
    if (hold !== null && hold !== this.hold) this.holds.inc({ reason: hold })
    this.hold = hold
  }

  private count(events: readonly TaskEvent[]): void {
    this.written.inc(events.length)
    for (const event of events) {
      switch (event.type) {
        case 'run.exited':
          this.runs.inc({ outcome: event.outcome })
          if (event.pid !== null) this.durations.observe(event.durationMs / 1000)
          break
        case 'run.started': {
          const task = this.supervisor.state.tasks.get(event.task)
          if (task !== undefined) this.lateness.observe({ priority: task.priority }, Math.max(0, Date.parse(event.time) - task.dueAt) / 1000)
          break
        }
        case 'task.deadline-missed':
          this.missed.inc()
          break
        case 'task.priority':
          if (event.reason === 'deadline') this.bumps.inc()
          break
        case 'task.failed':
          this.failed.inc()
          break
        default:
          break
      }
    }
  }
}
