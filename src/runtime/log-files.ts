// Per-task log files under the home: stdout and stderr apart, size-capped by rotation.
import { closeSync, constants, copyFileSync, ftruncateSync, lstatSync, openSync, renameSync, unlinkSync } from 'node:fs'
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

/** Appending, never through a symlink planted at the path (ELOOP). */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW

/** Open both logs of a task for appending (the child writes to them directly). */
export function openLogs(dir: string, task: string): { out: number; err: number } {
  return { out: openSync(logPath(dir, task, 'out'), APPEND_FLAGS, 0o600), err: openSync(logPath(dir, task, 'err'), APPEND_FLAGS, 0o600) }
}

export function closeLogs(fds: { out: number; err: number }): void {
  closeSync(fds.out)
  closeSync(fds.err)
}

/**
 * Rotate a task's logs that outgrew the cap. The running child keeps its file descriptor open in
 * append mode, so the file is copied aside and truncated in place (logrotate's copytruncate): the
 * child's next write lands at the start of the emptied file. Returns the size of the stderr log
 * afterwards: where a run starting now begins its stderr. Nothing is copied, truncated or written
 * through a symlink planted at any of the names: such a log is left alone, a planted `.1` unlinked.
 */
export function rotateIfNeeded(dir: string, task: string, policy: LogPolicy): number {
  let errSize = 0
  for (const stream of ['out', 'err'] as const) {
    const path = logPath(dir, task, stream)
    // Not there yet is the common case on a first run: no exception built for it.
    const size = regularFileSize(path)
    if (stream === 'err') errSize = size ?? 0
    if (size === undefined || size <= policy.maxBytes) continue
    if (stream === 'err') errSize = 0
    for (let i = policy.keep - 1; i >= 1; i -= 1) {
      if (regularFileSize(`${path}.${i}`) !== undefined) renameSync(`${path}.${i}`, `${path}.${i + 1}`)
    }
    if (policy.keep >= 1) {
      // EXCL: the copy creates a new file, failing rather than opening whatever a planted link names.
      unlinkIfThere(`${path}.1`)
      copyFileSync(path, `${path}.1`, constants.COPYFILE_EXCL)
    }
    // truncate(2) on the path would follow a symlink swapped in meanwhile; the descriptor is of the file itself.
    const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW)
    try {
      ftruncateSync(fd, 0)
    } finally {
      closeSync(fd)
    }
  }
  return errSize
}

/** The size of a regular file at `path` (lstat: a symlink is not one); undefined for anything else or nothing. */
function regularFileSize(path: string): number | undefined {
  const stats = lstatSync(path, { throwIfNoEntry: false })
  return stats?.isFile() === true ? stats.size : undefined
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}
