// Reading a task's logs: the last lines, or what was appended since an offset (for --follow), in
// bounded pieces: a log may be hundreds of MB, an answer is never more than READ_BOUND bytes a stream.
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { DomainError } from '../core/errors.js'
import { logPath, type LogStream } from './log-files.js'
import { readTimes, stampLines, timesPath, timesSince } from './log-times.js'

export interface LogChunk {
  text: string
  /** Where the next read should start. */
  offset: number
  /** The file holds more after `offset` already: ask again at once rather than after a pause. */
  more?: boolean
}

/** The most bytes of one stream an answer carries, and the most a tail reads: lines beyond it are not worth a slow answer. */
export const READ_BOUND = 1024 * 1024
/** A tail reads backwards this much at a time, so the last 100 short lines cost one small read. */
const TAIL_STEP = 64 * 1024

// O_NOFOLLOW: a symlink planted at the log path is refused, not read through (it could name any file
// the daemon's user can read). O_NONBLOCK: a FIFO planted there does not hang the open.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

export interface ReadOptions {
  /** Each line prefixed with the time it was written (log-times.ts) and a space. */
  timestamps?: boolean
  /** The most bytes an answer carries (tests make it small). */
  bound?: number
}

/** Where a piece of the log was read, for prefixing its lines with their times. */
interface Piece {
  bytes: Buffer
  start: number
  atLineStart: boolean
}

/**
 * The last `lines` lines of a log, or, with `from`, what follows that offset: at most `bound` bytes,
 * cut after a line end when there is one, with `more` set when the file goes on.
 */
export async function readLog(dir: string, task: string, stream: LogStream, lines: number, from?: number, options: ReadOptions = {}): Promise<LogChunk> {
  const bound = options.bound ?? READ_BOUND
  const log = await openLog(logPath(dir, task, stream))
  if (log === null) return { text: '', offset: 0 }
  let read: { piece: Piece; offset: number; more?: boolean }
  try {
    read = from === undefined ? await tail(log.handle, log.size, lines, bound) : await follow(log.handle, log.size, from, bound)
  } finally {
    await log.handle.close()
  }
  const { piece, offset, more } = read
  let text: string
  if (options.timestamps === true && piece.bytes.length > 0) {
    // A file born since birth-dating began has its birth time for its first piece (log-times.ts).
    const since = await timesSince(dir)
    const born = since !== null && log.born >= since ? log.born : null
    text = stampLines(piece.bytes, piece.start, piece.atLineStart, await readTimes(timesPath(dir, task, stream), piece.start, log.size, born))
  } else {
    text = piece.bytes.toString('utf8')
  }
  return more === true ? { text, offset, more } : { text, offset }
}

async function follow(handle: FileHandle, size: number, from: number, bound: number): Promise<{ piece: Piece; offset: number; more?: boolean }> {
  // A file smaller than the offset was rotated (truncated): read it from its start.
  const start = from > size ? 0 : from
  if (size === start) return { piece: { bytes: Buffer.alloc(0), start, atLineStart: true }, offset: size }
  const end = Math.min(size, start + bound)
  // One byte more in front says whether the piece starts a line (for its time).
  const withBefore = await readRange(handle, Math.max(0, start - 1), end)
  const atLineStart = start === 0 || withBefore[0] === 0x0a
  const bytes = start === 0 ? withBefore : withBefore.subarray(1)
  if (start + bytes.length >= size) return { piece: { bytes, start, atLineStart }, offset: start + bytes.length }
  const cut = cutAfterLine(bytes)
  return { piece: { bytes: bytes.subarray(0, cut), start, atLineStart }, offset: start + cut, more: true }
}

/** Reads backwards TAIL_STEP at a time until the window holds `lines` whole lines or reaches `bound` bytes. */
async function tail(handle: FileHandle, size: number, lines: number, bound: number): Promise<{ piece: Piece; offset: number }> {
  const pieces: Buffer[] = []
  let start = size
  let newlines = 0
  // Enough once the window holds as many line ends as lines wanted, not counting the last byte's: the
  // one before the first line shown is then in it too.
  while (start > 0 && size - start < bound && newlines < lines) {
    const from = Math.max(0, start - TAIL_STEP, size - bound)
    const piece = await readRange(handle, from, start)
    pieces.unshift(piece)
    newlines += count(piece, 0x0a) - (start === size && piece.at(-1) === 0x0a ? 1 : 0)
    start = from
  }
  let window = Buffer.concat(pieces)
  // Cut short by the bound: drop the partial line at the front, when there is a whole one after it.
  let atLineStart = start === 0
  if (start > 0) {
    const firstEnd = window.indexOf(0x0a)
    if (firstEnd >= 0 && firstEnd < window.length - 1) {
      window = window.subarray(firstEnd + 1)
      start += firstEnd + 1
      atLineStart = true
    }
  }
  // The last `lines` lines: skip line ends from the back (a final one ends the last line, not a new one).
  let cut = window.length - (window.at(-1) === 0x0a ? 1 : 0)
  let kept = 0
  while (kept < lines && cut > 0) {
    const newline = window.lastIndexOf(0x0a, cut - 1)
    kept += 1
    cut = newline < 0 ? 0 : newline
    if (newline < 0) break
  }
  if (kept === lines && cut > 0) {
    window = window.subarray(cut + 1)
    start += cut + 1
    atLineStart = true
  }
  // An unfinished last line is shown ended, as a whole line is.
  if (window.length > 0 && window.at(-1) !== 0x0a) window = Buffer.concat([window, Buffer.from('\n')])
  return { piece: { bytes: window, start, atLineStart }, offset: size }
}

/** The log opened for reading without following a symlink, and its size; null when there is none. */
async function openLog(path: string): Promise<{ handle: FileHandle; size: number; born: number } | null> {
  let handle: FileHandle
  try {
    handle = await open(path, OPEN_FLAGS)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    if (code === 'ELOOP') throw new DomainError('forbidden', `${basename(path)}: is a symbolic link; refusing to read the log through it`)
    throw error
  }
  const stats = await handle.stat().catch(async (error: unknown) => {
    await handle.close()
    throw error
  })
  if (!stats.isFile()) {
    await handle.close()
    throw new DomainError('forbidden', `${basename(path)}: is not a regular file; refusing to read it as a log`)
  }
  return { handle, size: stats.size, born: stats.birthtimeMs }
}

/** Bytes [start, end) of a file (fewer if it shrank meanwhile). */
async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(end - start)
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, start)
  return buffer.subarray(0, bytesRead)
}

/** Where to end a piece cut short: after its last line end, else at the last whole UTF-8 character. */
function cutAfterLine(bytes: Buffer): number {
  const lastNewline = bytes.lastIndexOf(0x0a)
  if (lastNewline >= 0) return lastNewline + 1
  let cut = bytes.length
  // Back off over continuation bytes (10xxxxxx) and the lead byte they belong to.
  while (cut > 0 && ((bytes[cut - 1] as number) & 0xc0) === 0x80) cut -= 1
  if (cut > 0 && (bytes[cut - 1] as number) >= 0xc0) cut -= 1
  return cut === 0 ? bytes.length : cut
}

function count(bytes: Buffer, byte: number): number {
  let n = 0
  for (let i = bytes.indexOf(byte); i >= 0; i = bytes.indexOf(byte, i + 1)) n += 1
  return n
}

/** The last lines a run wrote to stderr (from `offset`, where its log stood when it started). */
export async function runStderr(dir: string, task: string, offset: number, lines = 3): Promise<string> {
  const log = await openLog(logPath(dir, task, 'err')).catch(() => null)
  if (log === null) return ''
  try {
    const { size } = log
    const start = offset > size ? 0 : Math.max(offset, size - 4096)
    if (size <= start) return ''
    const text = (await readRange(log.handle, start, size)).toString('utf8').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '')
    return text.slice(-lines).join('\n').slice(-500)
  } finally {
    await log.handle.close()
  }
}
