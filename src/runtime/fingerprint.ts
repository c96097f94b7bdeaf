// The fingerprint of an error: its stderr lines with numbers, hex ids and paths' digits blanked, hashed.
import { createHash } from 'node:crypto'

export function fingerprint(stderr: string): string {
  if (stderr === '') return ''
  const normalized = stderr.replace(/0x[0-9a-f]+/gi, '#').replace(/\d+/g, '#')
  return createHash('sha256').update(normalized).digest('hex').slice(0, 12)
}
