// Naming the damaged or missing file when the LevelDB folder cannot be opened, and what the user can do.
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DomainError } from '../core/errors.js'

const ADVICE = 'restore the folder from a backup (keep a copy of the damaged one); the daemon will not start on it'
// LevelDB's own files: its table and log files, and its manifests.
const LEVEL_FILE = /^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$/

const refuse = (dir: string, problem: string, cause?: unknown): DomainError =>
  new DomainError('internal', `database ${dir} cannot be opened: ${problem}; ${ADVICE}`, cause === undefined ? undefined : { cause })

/**
 * Before opening: LevelDB makes a new, empty database when CURRENT is missing, and then drops the table
 * files it no longer knows, so a folder holding LevelDB's files without CURRENT is refused instead.
 */
export async function checkBeforeOpen(dir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return // No folder yet: a new home.
  }
  if (names.includes('CURRENT')) return
  const found = names.filter((name) => LEVEL_FILE.test(name)).sort()
  if (found.length === 0) return
  const listed = found.length > 3 ? `${found.slice(0, 3).join(', ')}, ...` : found.join(', ')
  throw refuse(dir, `${join(dir, 'CURRENT')} is missing, though the folder holds LevelDB files (${listed})`)
}

/** LevelDB's own message ("Corruption: ...", "IO error: ..."), the innermost of the error's causes. */
export function levelMessage(error: unknown): string | null {
  let found: string | null = null
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 10; at = at.cause, depth += 1) {
    if (/^[A-Z][A-Za-z ]*: /.test(at.message) || found === null) found = at.message
  }
  return found
}

/** The error to show when opening `dir` failed with `error` (not a lock held by another daemon). */
export async function openFailure(dir: string, error: unknown): Promise<DomainError> {
  const said = levelMessage(error)
  const leveldb = said === null ? '' : ` (LevelDB: ${said})`
  const current = join(dir, 'CURRENT')
  let text: string | null
  try {
    text = await readFile(current, 'utf8')
  } catch {
    text = null
  }
  if (text === null) return refuse(dir, `${current} is missing or unreadable${leveldb}`, error)
  const manifest = /^(MANIFEST-\d+)\n$/.exec(text)?.[1]
  if (manifest === undefined) {
    return refuse(dir, `${current} is damaged: expected the name of a MANIFEST file and a newline, got ${JSON.stringify(text.slice(0, 40))}${leveldb}`, error)
  }
  const names = await readdir(dir).catch(() => [] as string[])
  if (!names.includes(manifest)) return refuse(dir, `${join(dir, manifest)}, which CURRENT names, is missing${leveldb}`, error)
  // A file LevelDB names itself (a path, or a table, log or manifest file name); "descriptor" is its
  // word for the manifest.
  const named = said === null ? undefined : (/(\/\S+?)(?::|\s|$)/.exec(said)?.[1] ?? /\b(\d+\.(?:ldb|sst|log)|MANIFEST-\d+)\b/.exec(said)?.[1])
  const file = named !== undefined ? (named.startsWith('/') ? named : join(dir, named))
    : said !== null && said.includes('descriptor') ? join(dir, manifest) : null
  if (file !== null) return refuse(dir, `${file} is damaged or missing${leveldb}`, error)
  return refuse(dir, `LevelDB could not read it${leveldb}`, error)
}
