// Per-task log files under the home: stdout and stderr apart, size-capped by rotation (log-writer.ts).
import { statSync } from 'node:fs'
import { join } from 'node:path'

export interface LogPolicy {
  /** Rotate a log file before it would grow past this many bytes. */
  maxBytes: number
  /** Rotated files kept: NAME.out.log.1 (newest) ... NAME.out.log.N. */
  keep: number
}

export const DEFAULT_LOG_POLICY: LogPolicy = { maxBytes: 10 * 1024 * 1024, keep: 3 }

export type LogStream = 'out' | 'err'

export function logPath(dir: string, task: string, stream: LogStream): string {
  return join(dir, `${task}.${stream}.log`)
}

/** The size of a task's log (0 if it has none yet): where a run starting now begins its output. */
export function logSize(dir: string, task: string, stream: LogStream): number {
  // Not there yet is the common case on a first run: no exception built for it.
  return statSync(logPath(dir, task, stream), { throwIfNoEntry: false })?.size ?? 0
}
