// Reading a task's logs: the last lines, or what was appended since an offset (for --follow).
import { open, stat } from 'node:fs/promises'
import { logPath, type LogStream } from './log-files.js'

export interface LogChunk {
  text: string
  /** Where the next read should start. */
  offset: number
}

/** At most this much of a file is read for a tail: lines beyond it are not worth a slow answer. */
const TAIL_WINDOW = 1024 * 1024

export async function readLog(dir: string, task: string, stream: LogStream, lines: number, from?: number): Promise<LogChunk> {
  const path = logPath(dir, task, stream)
  const size = await stat(path).then((s) => s.size, () => 0)
  // A file smaller than the offset was rotated (truncated): read it from its start.
  const start = from === undefined ? Math.max(0, size - TAIL_WINDOW) : from > size ? 0 : from
  if (size === start) return { text: '', offset: size }
  const text = await readRange(path, start, size)
  if (from !== undefined) return { text, offset: size }
  const all = text.split('\n')
  if (all.at(-1) === '') all.pop()
  return { text: all.slice(-lines).map((l) => `${l}\n`).join(''), offset: size }
}

/** The text of bytes [start, end) of a file. */
async function readRange(path: string, start: number, end: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(end - start)
    await handle.read(buffer, 0, buffer.length, start)
    return buffer.toString('utf8')
  } finally {
    await handle.close()
  }
}

/** The last lines a run wrote to stderr (from `offset`, where its log stood when it started). */
export async function runStderr(dir: string, task: string, offset: number, lines = 3): Promise<string> {
  const path = logPath(dir, task, 'err')
  const size = await stat(path).then((s) => s.size, () => 0)
  const start = offset > size ? 0 : Math.max(offset, size - 4096)
  if (size <= start) return ''
  const text = (await readRange(path, start, size)).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '')
  return text.slice(-lines).join('\n').slice(-500)
}
