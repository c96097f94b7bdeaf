// Per-task log files under the home: stdout and stderr apart, size-capped by rotation.
import { copyFileSync, existsSync, openSync, closeSync, renameSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'

export interface LogPolicy {
  /** Rotate a log file once it grows past this many bytes. */
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

/** Open both logs of a task for appending (the child writes to them directly). */
export function openLogs(dir: string, task: string): { out: number; err: number } {
  return { out: openSync(logPath(dir, task, 'out'), 'a', 0o600), err: openSync(logPath(dir, task, 'err'), 'a', 0o600) }
}

export function closeLogs(fds: { out: number; err: number }): void {
  closeSync(fds.out)
  closeSync(fds.err)
}

/**
 * Rotate a task's logs that outgrew the cap. The running child keeps its file descriptor open in
 * append mode, so the file is copied aside and truncated in place (logrotate's copytruncate): the
 * child's next write lands at the start of the emptied file. Returns the size of the stderr log
 * afterwards: where a run starting now begins its stderr.
 */
export function rotateIfNeeded(dir: string, task: string, policy: LogPolicy): number {
  let errSize = 0
  for (const stream of ['out', 'err'] as const) {
    const path = logPath(dir, task, stream)
    // Not there yet is the common case on a first run: no exception built for it.
    const size = statSync(path, { throwIfNoEntry: false })?.size
    if (stream === 'err') errSize = size ?? 0
    if (size === undefined || size <= policy.maxBytes) continue
    if (stream === 'err') errSize = 0
    for (let i = policy.keep - 1; i >= 1; i -= 1) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`)
    }
    if (policy.keep >= 1) copyFileSync(path, `${path}.1`)
    truncateSync(path, 0)
  }
  return errSize
}
