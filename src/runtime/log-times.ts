// When each piece of a log was written, for `ctl logs --timestamps`: a small index beside the live log
// file (NAME.out.times), not a prefix in the log itself, so the log stays exactly what the run wrote
// and a run that writes nothing costs nothing. The launcher's log writer appends one 16-byte record
// (file offset, epoch milliseconds) per chunk it writes in which a line starts, at most one per
// millisecond; a line's time is the time of the chunk that held its first byte. Rotation starts the
// index afresh with the new file, and an index never outgrows the log's own size cap: past it, one
// marker record says "times unknown from here" and lines after it are shown without a time.
import { closeSync, constants, openSync } from 'node:fs'
import { lstat, open, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { LogStream } from './log-files.js'

export const TIME_RECORD_BYTES = 16
/** The most of an index one read looks at (from its end): 262,144 records, far more than a 1 MiB window's lines. */
const INDEX_READ_BOUND = 4 * 1024 * 1024
const INDEX_STEP = 64 * 1024

// As for the log: never through a planted symlink, never hanging on a FIFO.
const WRITE_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

export function timesPath(dir: string, task: string, stream: LogStream): string {
  return join(dir, `${task}.${stream}.times`)
}

/** Log files born at or after this file's modification time date their first piece by their birth. */
export function sinceMarkerPath(dir: string): string {
  return join(dir, '.times-since')
}

const markedDirs = new Set<string>()

/** Makes the logs folder's `.times-since` if it has none; once per folder and process. */
export function markTimesSince(dir: string): void {
  if (markedDirs.has(dir)) return
  markedDirs.add(dir)
  try {
    closeSync(openSync(sinceMarkerPath(dir), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600))
  } catch {
    // There already (EEXIST), or not makeable: new files then show "-" for their first piece.
  }
}

/** When birth-dated files began in `dir` (the marker's mtime), or null without a marker. */
export async function timesSince(dir: string): Promise<number | null> {
  const stats = await lstat(sinceMarkerPath(dir)).catch(() => null)
  return stats?.isFile() === true ? stats.mtimeMs : null
}

export interface TimeRecord {
  offset: number
  /** NaN: the index was full; lines from `offset` on have no known time. */
  ms: number
}

/** Appends time records for one log file; opened at the first record, so a silent run opens nothing. */
export class TimeIndexWriter {
  private handle: FileHandle | null = null
  private lastMs = -1
  private truncate = false
  /** Bytes in the index file, when this writer knows them (it opened it); -1 until then. */
  private size = -1
  private full = false

  /** `limit`: the most bytes the index may hold (the log's own cap); at least two records. */
  constructor(readonly path: string, private readonly limit: number) {}

  /**
   * The log file was started afresh (rotated, or new). `born`: it was just created, so its birth time
   * dates its first piece and no record is needed at 0. `stale`: the index holds the old file's
   * records (a rotation), which go: emptied at the next record, or removed when the writer closes.
   * A new log of a new task has no index, and costs no call to find that out; one deleted by hand
   * may leave a stale index, whose records the reader tells apart by time.
   */
  restart(born: boolean, stale: boolean): void {
    this.truncate = stale
    this.lastMs = -1
    this.full = false
    this.impliedAtZero = born
  }

  /** The first piece of a just-created file needs no record: its birth time dates it. */
  private impliedAtZero = false
  /** Bytes written at `offset` of the live log at time `ms`; one record a millisecond is enough. */
  async mark(offset: number, ms: number): Promise<void> {
    if (ms === this.lastMs || this.full) return
    if (offset === 0 && this.impliedAtZero) {
      this.lastMs = ms
      return
    }
    if (this.truncate) await this.close()
    if (this.handle === null) {
      this.handle = await open(this.path, WRITE_FLAGS | (this.truncate ? constants.O_TRUNC : 0), 0o600)
      this.truncate = false
      const stats = await this.handle.stat()
      if (!stats.isFile() || stats.nlink > 1) {
        await this.close()
        throw new Error(`${this.path}: is not a regular file of its own; refusing to write the time index to it`)
      }
      this.size = stats.size
    }
    // The last record that fits under the cap says that times are unknown from here on.
    this.full = this.size + 2 * TIME_RECORD_BYTES > Math.max(this.limit, 2 * TIME_RECORD_BYTES)
    await this.append(offset, this.full ? Number.NaN : ms)
    this.lastMs = ms
  }

  private async append(offset: number, ms: number): Promise<void> {
    const record = Buffer.alloc(TIME_RECORD_BYTES)
    record.writeDoubleLE(offset, 0)
    record.writeDoubleLE(ms, 8)
    await (this.handle as FileHandle).write(record, 0, TIME_RECORD_BYTES)
    this.size += TIME_RECORD_BYTES
  }

  /** Closes the index; one still owed a truncation (its log started afresh, no record since) goes. */
  async close(): Promise<void> {
    const handle = this.handle
    this.handle = null
    if (handle !== null) await handle.close()
    if (this.truncate && handle === null && !this.full) {
      this.truncate = false
      await unlink(this.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    }
  }
}

/**
 * The records that date bytes [from, size) of a log `size` bytes long, sorted by offset: the last one at
 * or before `from` and every one after it. Records past `size` belong to an older file and are left
 * out. `born`: the log's birth time when it dates the file's first piece (see the top), used where the
 * index has no record at 0; without it and without an index, nothing is dated.
 */
export async function readTimes(path: string, from: number, size: number, born: number | null = null): Promise<TimeRecord[]> {
  // A log deleted by hand and made anew may leave the old one's index: records older than the file go.
  const records = (await readIndex(path, from, size)).filter((r) => born === null || !(r.ms < born - BIRTH_SKEW_MS))
  // Harmless when the scan stopped at a record before `from`: that one dates the window, not this.
  if (born !== null && (records[0]?.offset ?? 1) > 0) records.unshift({ offset: 0, ms: born })
  return records
}

async function readIndex(path: string, from: number, size: number): Promise<TimeRecord[]> {
  let handle: FileHandle
  try {
    handle = await open(path, READ_FLAGS)
  } catch {
    return []
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) return []
    const end = stats.size - (stats.size % TIME_RECORD_BYTES)
    const records: TimeRecord[] = []
    let start = end
    let reachedFrom = false
    while (start > 0 && end - start < INDEX_READ_BOUND && !reachedFrom) {
      const pieceStart = Math.max(0, start - INDEX_STEP)
      const bytes = Buffer.alloc(start - pieceStart)
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, pieceStart)
      for (let at = bytesRead - TIME_RECORD_BYTES; at >= 0; at -= TIME_RECORD_BYTES) {
        const record = { offset: bytes.readDoubleLE(at), ms: bytes.readDoubleLE(at + 8) }
        if (!Number.isFinite(record.offset) || record.offset >= size) continue
        records.push(record)
        if (record.offset <= from) reachedFrom = true
      }
      start = pieceStart
    }
    // Read backwards: back to file order, then by offset (two runs of one task writing at once can
    // interleave their records); at one offset the later record wins, being last.
    return records.reverse().sort((a, b) => a.offset - b.offset)
  } finally {
    await handle.close()
  }
}

/** How much earlier than a file's birth one of its own records may be stamped (clock steps, coarse file times). */
const BIRTH_SKEW_MS = 1000

/** Width of the time a line is prefixed with: an ISO 8601 UTC time with milliseconds. */
const UNKNOWN_TIME = '-'.padEnd(24)

/**
 * `bytes` (read from offset `start` of the log) with each line that starts in it prefixed with the time
 * it was written and a space. A piece that starts mid-line (`atLineStart` false) has its first,
 * continued, line left as it is. A line no record dates is prefixed with a dash.
 */
export function stampLines(bytes: Buffer, start: number, atLineStart: boolean, times: TimeRecord[]): string {
  const parts: string[] = []
  let next = 0
  let lineStart = atLineStart ? 0 : bytes.indexOf(0x0a) + 1
  if (lineStart === 0 && !atLineStart) return bytes.toString('utf8')
  let record = -1
  while (lineStart < bytes.length) {
    const offset = start + lineStart
    while (record + 1 < times.length && (times[record + 1] as TimeRecord).offset <= offset) record += 1
    parts.push(bytes.subarray(next, lineStart).toString('utf8'))
    const ms = record < 0 ? Number.NaN : (times[record] as TimeRecord).ms
    parts.push(`${Number.isFinite(ms) ? new Date(ms).toISOString() : UNKNOWN_TIME} `)
    next = lineStart
    const end = bytes.indexOf(0x0a, lineStart)
    if (end < 0) break
    lineStart = end + 1
  }
  parts.push(bytes.subarray(next).toString('utf8'))
  return parts.join('')
}
