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
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(size - start)
    await handle.read(buffer, 0, buffer.length, start)
    const text = buffer.toString('utf8')
    if (from !== undefined) return { text, offset: size }
    const all = text.split('\n')
    if (all.at(-1) === '') all.pop()
    return { text: all.slice(-lines).map((l) => `${l}\n`).join(''), offset: size }
  } finally {
    await handle.close()
  }
}
