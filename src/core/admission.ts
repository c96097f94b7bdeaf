// Admission: whether the machine can carry one more run, and if not, why (the task's waitingReason).
import { myBusy, placedHere, type State } from './state.js'
import type { Task } from './types.js'
import { prerequisites } from './workflow.js'

export interface Limits {
  maxConcurrent: number
  /** Start nothing while system CPU load is at or above this percentage (100: never hold back). */
  maxCpu: number
  /** Start nothing that would leave less free memory than this many bytes. */
  minFreeBytes: number
  /** Memory need assumed for a task that declares none and has no observed peak. */
  defaultNeedBytes: number
  /** The machine's total memory, if known: a need above it less `minFreeBytes` can never be met. */
  totalBytes?: number
}

/** Why `task` can never start on this machine, whatever ends, or null: its need is beyond what it has. */
export function neverFits(task: Task, limits: Limits): string | null {
  if (limits.totalBytes === undefined) return null
  const need = memoryNeed(task, limits)
  const most = limits.totalBytes - limits.minFreeBytes
  if (need <= most) return null
  return `memory: needs ${formatSize(need)}, more than this machine can ever free (${formatSize(Math.max(0, most))}); it does not hold the tasks behind it`
}

/** The latest machine sample; null fields are not known yet and hold nothing back. */
export interface Resources {
  cpuPercent: number | null
  freeBytes: number | null
}

export function memoryNeed(task: Task, limits: Limits): number {
  return task.spec.memoryBytes ?? task.peakMemory ?? limits.defaultNeedBytes
}

/** Why `task` cannot start now with `running` runs and `reserved` bytes already promised, or null. */
export function admissionBlock(
  task: Task,
  running: number,
  reserved: number,
  resources: Resources,
  limits: Limits,
): string | null {
  if (running >= limits.maxConcurrent) return `${running}/${limits.maxConcurrent} running`
  const cpu = resources.cpuPercent
  if (cpu !== null && limits.maxCpu < 100 && cpu >= limits.maxCpu) {
    return `cpu ${Math.round(cpu)}% >= ${limits.maxCpu}%`
  }
  if (resources.freeBytes === null) return null
  const need = memoryNeed(task, limits)
  const remain = resources.freeBytes - reserved - need
  if (remain < limits.minFreeBytes) return `memory: needs ${formatSize(need)}, ${formatSize(Math.max(0, remain))} would remain`
  return null
}

export interface Blocked {
  task: string
  reason: string
}

/** Why a due task is not running, for views: its own block, or the task ahead of it that blocks. */
export function waitingReason(
  state: State,
  task: Task,
  resources: Resources,
  limits: Limits,
  blocked: Blocked | null,
): string | null {
  if (task.awaiting) return `after ${prerequisites(state, task).unmet.map((name) => `"${name}"`).join(', ')}`
  if (task.state !== 'ready') return null
  if (!placedHere(state, task)) return `placed on ${task.spec.nodes.map((node) => `"${node}"`).join(', ')}`
  if (state.starting.has(task.spec.name) && task.claimed && state.config.shared && task.node !== state.config.node) return `starting on node "${task.node ?? '?'}"`
  const never = neverFits(task, limits)
  if (never !== null) return never
  const own = admissionBlock(task, myBusy(state), 0, resources, limits)
  if (own !== null) return own
  if (blocked?.task === task.spec.name) return blocked.reason
  if (blocked !== null) return `behind "${blocked.task}" (${blocked.reason})`
  return 'starting'
}

export function formatSize(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${unit === 0 ? value : value.toFixed(value >= 100 ? 0 : 1)}${units[unit]}`
}
