// Newline-delimited text out of stream chunks, for both ends of the control socket.

/**
 * Feed it chunks; it calls `onLine` for every complete line. A chunk without a newline is only
 * kept, so a 40 MB line is joined once rather than rescanned chunk after chunk. Returns false once
 * the unfinished line grows past `maxLine` characters (the caller then drops the connection).
 */
export function lineReader(onLine: (line: string) => void, maxLine = Infinity): (chunk: string) => boolean {
  let pending: string[] = []
  let pendingLength = 0
  return (chunk) => {
    pendingLength += chunk.length
    if (pendingLength > maxLine) return false
    if (!chunk.includes('\n')) {
      pending.push(chunk)
      return true
    }
    const lines = (pending.join('') + chunk).split('\n')
    const rest = lines.pop() ?? ''
    pending = [rest]
    pendingLength = rest.length
    for (const line of lines) onLine(line)
    return true
  }
}
