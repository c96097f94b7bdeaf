// Writing a run's output (a pipe from the child) to its log file, rotating by rename as it arrives.
// The cap is enforced chunk by chunk, so a burst cannot outgrow it between checks, and rotation
// renames instead of copying, so disk use stays within (keep + 1) x maxBytes.
import { constants } from 'node:fs'
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { logPath, type LogPolicy, type LogStream } from './log-files.js'
import { TimeIndexWriter, timesPath } from './log-times.js'

// O_NOFOLLOW: a symlink planted at the log path is refused (ELOOP), never written through.
// O_NONBLOCK: a FIFO planted there fails at once (ENXIO) instead of hanging the open; regular files ignore it.
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK

export interface LogWriterOptions {
  dir: string
  task: string
  stream: LogStream
  policy: LogPolicy
  /**
   * Called once, with the first error (a refused or failed open, write or rotation). The rest of the
   * output is then read and dropped: the child keeps writing to a pipe that is drained, never one
   * that breaks under it. Also called, once, if the time index (log-times.ts) cannot be written: the
   * log goes on without times.
   */
  onError?: (error: Error) => void
  /** The clock the time index reads (tests fake it). */
  now?: () => number
}

export class LogWriter {
  readonly path: string
  /** Resolves once the source has ended (or failed) and everything read is written and the file closed. Never rejects. */
  readonly done: Promise<void>
  /** Bytes written to the log files, and bytes read but dropped after an error. */
  written = 0
  dropped = 0
  error: Error | null = null
  private handle: FileHandle | null = null
  /** When each piece was written, for `ctl logs --timestamps`; null once it failed. */
  private times: TimeIndexWriter | null
  /** Set while rotating: the new file's index must drop the old file's records. */
  private rotating = false
  /** Whether the next byte written starts a line (the first one of a file opened is taken to). */
  private atLineStart = true
  /** Size of the open file: what was there when it was opened plus what this writer appended. */
  private size = 0

  constructor(source: Readable, private readonly options: LogWriterOptions) {
    const { maxBytes, keep } = options.policy
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new Error(`maxBytes: expected a whole number of bytes >= 1, got ${maxBytes}`)
    if (!Number.isSafeInteger(keep) || keep < 0) throw new Error(`keep: expected a whole number >= 0, got ${keep}`)
    this.path = logPath(options.dir, options.task, options.stream)
    this.times = new TimeIndexWriter(timesPath(options.dir, options.task, options.stream), maxBytes)
    this.done = this.pump(source)
  }

  /**
   * Reads the source one chunk at a time and writes it before asking for the next: the async iterator
   * only reads when asked, so while a write is pending the stream's buffer fills and the pipe pushes
   * back on the child (backpressure) instead of the output piling up in memory.
   */
  private async pump(source: Readable): Promise<void> {
    try {
      for await (const chunk of source) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
        if (this.error !== null) {
          this.dropped += bytes.length
          continue
        }
        try {
          await this.write(this.frame(bytes))
        } catch (error) {
          this.dropped += bytes.length
          this.fail(error as Error)
        }
      }
    } catch (error) {
      // The pipe itself failed: nothing more to read.
      this.fail(error as Error)
    } finally {
      await this.close().catch((error: Error) => this.fail(error))
    }
  }

  /**
   * The bytes to write for a chunk read. The one place a per-line prefix (a timestamp, say) would go;
   * it would carry across chunks whether the last one ended a line.
   */
  protected frame(chunk: Buffer): Buffer {
    return chunk
  }

  /** Append `bytes`, rotating first when they would pass the cap; more than a whole file's worth is split. */
  private async write(bytes: Buffer): Promise<void> {
    const { maxBytes } = this.options.policy
    let rest = bytes
    while (rest.length > 0) {
      if (this.handle === null) await this.openLog()
      if (this.size > 0 && this.size + rest.length > maxBytes) await this.rotate()
      const piece = rest.length <= maxBytes ? rest : rest.subarray(0, cutAt(rest, maxBytes))
      // Only a piece in which a line starts needs its time kept: a line is dated by its first byte.
      const newline = piece.indexOf(0x0a)
      if (this.atLineStart || (newline >= 0 && newline < piece.length - 1)) await this.markTime()
      await this.writeAll(piece)
      this.atLineStart = piece.at(-1) === 0x0a
      rest = rest.subarray(piece.length)
    }
  }

  /** Records that what is written next, at the end of the live file, was written now. */
  private async markTime(): Promise<void> {
    if (this.times === null) return
    try {
      await this.times.mark(this.size, (this.options.now ?? Date.now)())
    } catch (error) {
      const times = this.times
      this.times = null
      await times.close().catch(() => undefined)
      this.options.onError?.(new Error(`time index: ${(error as Error).message}; the log goes on without times`))
    }
  }

  private async writeAll(piece: Buffer): Promise<void> {
    const handle = this.handle as FileHandle
    let offset = 0
    while (offset < piece.length) {
      const { bytesWritten } = await handle.write(piece, offset, piece.length - offset)
      offset += bytesWritten
      this.size += bytesWritten
      this.written += bytesWritten
    }
  }

  private async openLog(): Promise<void> {
    let handle: FileHandle
    try {
      handle = await open(this.path, OPEN_FLAGS, 0o600)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ELOOP') throw new Error(`${this.path}: is a symbolic link; refusing to write the log through it`)
      if (code === 'ENXIO') throw new Error(`${this.path}: is a FIFO; refusing to write the log to it`)
      throw new Error(`${this.path}: cannot open the log: ${(error as Error).message}`)
    }
    try {
      const stats = await handle.stat()
      // A hard link to another file would have its owner's data grown by the log: only a file of its own.
      if (!stats.isFile()) throw new Error(`${this.path}: is not a regular file; refusing to write the log to it`)
      if (stats.nlink > 1) throw new Error(`${this.path}: has ${stats.nlink} hard links; refusing to write the log to it`)
      this.size = stats.size
      this.handle = handle
      this.atLineStart = true
      // A new or emptied file (rotation included): the old file's times do not date it. One this writer
      // just created has its birth time for its first piece (log-times.ts); checked, not assumed.
      const now = (this.options.now ?? Date.now)()
      if (stats.size === 0) this.times?.restart(stats.birthtimeMs > 0 && Math.abs(stats.birthtimeMs - now) < BIRTH_TOLERANCE_MS, this.rotating)
    } catch (error) {
      await handle.close()
      throw error
    }
  }

  /**
   * Close the live file and shift names: .keep-1 -> .keep (replacing the oldest) ... live -> .1, then
   * open a new live file. Only renames: a symlink or other odd entry among the names is refused, not
   * followed (a rename moves the link, never writes to what it names, but a planted name is a sign to stop).
   */
  private async rotate(): Promise<void> {
    this.rotating = true
    await this.close()
    const { keep } = this.options.policy
    for (let i = keep - 1; i >= 1; i -= 1) {
      const from = `${this.path}.${i}`
      if (await isRegularFile(from)) await rename(from, `${this.path}.${i + 1}`)
    }
    if (await isRegularFile(this.path)) await (keep >= 1 ? rename(this.path, `${this.path}.1`) : unlink(this.path))
    await this.openLog()
    this.rotating = false
  }

  private fail(error: Error): void {
    if (this.error !== null) return
    this.error = error
    this.options.onError?.(error)
  }

  private async close(): Promise<void> {
    const handle = this.handle
    this.handle = null
    this.size = 0
    try {
      if (handle !== null) await handle.close()
    } finally {
      await this.times?.close()
    }
  }
}

/** How far a new file's birth time may be from the writer's clock to date its first piece. */
const BIRTH_TOLERANCE_MS = 1000

/** Where to split a chunk too big for one file: after its last line end within the cap, else at the cap. */
function cutAt(bytes: Buffer, maxBytes: number): number {
  const lastNewline = bytes.lastIndexOf(0x0a, maxBytes - 1)
  return lastNewline >= 0 ? lastNewline + 1 : maxBytes
}

/** Whether `path` is a regular file; false when absent; an error naming it when it is something else. */
async function isRegularFile(path: string): Promise<boolean> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw error
  })
  if (stats === null) return false
  if (stats.isSymbolicLink()) throw new Error(`${path}: is a symbolic link; refusing to rotate the logs through it`)
  if (!stats.isFile()) throw new Error(`${path}: is not a regular file; refusing to rotate the log`)
  return true
}
