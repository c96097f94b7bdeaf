// What the supervisor knows of the machine and of its runs' process trees: the system sample that
// admission reads (CPU, free memory, less what runs started since have been promised), each run's
// latest and peak usage, and the live metrics pushed to dashboards.
import type { RunSample } from '../core/actions.js'
import type { Limits, Resources } from '../core/admission.js'
import type { Task } from '../core/types.js'
import type { Degraded } from './dispatcher.js'
import type { GroupUsage, SystemProbe, UsageProbe } from './ports.js'

/** What the monitor last saw of a run, and the most it ever saw. */
export interface RunUsage extends GroupUsage {
  pid: number
  peak: number
}

/** A live sample for dashboards: the machine against the admission limits, and each run's usage. */
export interface Metrics {
  time: string
  cpuPercent: number | null
  freeBytes: number | null
  totalBytes: number | null
  limits: Limits
  running: { task: string; pid: number; cpu: number; memory: number; peak: number }[]
  /** Null, or why writes fail (the dashboard shows it). */
  degraded: Degraded | null
}

export class ResourceWatch {
  resources: Resources = { cpuPercent: null, freeBytes: null }
  totalBytes: number | null = null
  /** By task name: the run being measured. */
  readonly usage = new Map<string, RunUsage>()
  private readonly listeners = new Set<(metrics: Metrics) => void>()
  /** Memory promised to runs started since the last sample, which the sample cannot see yet. */
  private reserved = 0

  constructor(
    private readonly probe: SystemProbe,
    private readonly monitor: UsageProbe,
    /** The rest of a metrics message: the time, the limits, whether the log is written. */
    private readonly context: () => Pick<Metrics, 'time' | 'limits' | 'degraded'>,
  ) {}

  /** The sample admission plans with: free memory less what was promised since it was taken. */
  forAdmission(): Resources {
    const free = this.resources.freeBytes
    return { ...this.resources, freeBytes: free === null ? null : free - this.reserved }
  }

  /** A run was started with this much memory promised; the next sample will show it. */
  promise(bytes: number): void {
    this.reserved += bytes
  }

  get watched(): boolean {
    return this.listeners.size > 0
  }

  async sampleNow(): Promise<void> {
    const sample = await this.probe.sample()
    this.resources = { cpuPercent: sample.cpuPercent, freeBytes: sample.freeBytes }
    this.totalBytes = sample.totalBytes
    this.reserved = 0
    if (this.listeners.size > 0) {
      const metrics = this.metrics()
      for (const listener of this.listeners) listener(metrics)
    }
  }

  /**
   * Measure the running process trees (latest and peak usage per run); the samples of runs with a
   * memory limit, for the core to judge where the kernel does not hold them to it.
   */
  async measure(running: Iterable<Task>): Promise<RunSample[]> {
    const runs = [...running].filter((t): t is Task & { pid: number } => t.pid !== null)
    const measured = await this.monitor.measure(runs.map((t) => t.pid))
    const limited: RunSample[] = []
    for (const task of runs) {
      const sample = measured.get(task.pid)
      if (sample === undefined) continue
      const previous = this.usage.get(task.spec.name)
      const peak = Math.max(sample.memory, previous?.pid === task.pid ? previous.peak : 0)
      this.usage.set(task.spec.name, { ...sample, pid: task.pid, peak })
      if (task.spec.memoryBytes !== null) limited.push({ pid: task.pid, memory: sample.memory })
    }
    return limited
  }

  /** The run of `name` as `pid` ended: its usage, if measured, is taken out (for its peak). */
  ended(name: string, pid: number): RunUsage | undefined {
    const usage = this.usage.get(name)
    if (usage?.pid !== pid) return undefined
    this.usage.delete(name)
    return usage
  }

  metrics(): Metrics {
    return {
      ...this.context(),
      ...this.resources,
      totalBytes: this.totalBytes,
      running: [...this.usage].map(([task, u]) => ({ task, pid: u.pid, cpu: u.cpu, memory: u.memory, peak: u.peak })),
    }
  }

  /** Be told each new sample (about once a second); returns the way to stop. */
  onMetrics(listener: (metrics: Metrics) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
