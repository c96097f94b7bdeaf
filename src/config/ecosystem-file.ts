// Reading an ecosystem file. `ctl apply` loads the schema library only when the file holds more than
// its tasks: the daemon validates every task anyway, and the library is ctl's heaviest import (~90 ms).
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { DomainError } from '../core/errors.js'

/** The parsed JSON of `file` and the folder its relative paths resolve against. */
export async function readDocument(file: string): Promise<{ document: unknown; baseDir: string }> {
  const path = resolve(file)
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new DomainError('invalid', `${file}: cannot read (${error.code ?? error.message})`)
  })
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new DomainError('invalid', `${file}: not valid JSON (${(error as Error).message})`)
  }
  return { document, baseDir: dirname(path) }
}

/**
 * For `ctl apply`: read the file and check all but each task, which the daemon checks anyway (with
 * the same schema, and the same messages), so that 100,000 tasks are validated once, not twice.
 */
export async function readEcosystemForApply(file: string): Promise<{ tasks: unknown[]; baseDir: string }> {
  const { document, baseDir } = await readDocument(file)
  if (isBareTaskList(document)) return { tasks: document.tasks, baseDir }
  const { envelopeTasks } = await import('./ecosystem.js')
  return { tasks: envelopeTasks(document), baseDir }
}

/** `{"tasks": [...]}`, with a `$schema` string at most: the schema has nothing to check but the tasks. */
function isBareTaskList(document: unknown): document is { tasks: unknown[] } {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return false
  for (const [key, value] of Object.entries(document)) {
    if (key === 'tasks' ? !Array.isArray(value) : key !== '$schema' || typeof value !== 'string') return false
  }
  return 'tasks' in document
}
