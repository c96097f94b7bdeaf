// The ecosystem file: daemon options under `supervisor`, tasks under `tasks`; one schema, all-or-nothing.
import { z } from 'zod'
import { DomainError } from '../core/errors.js'
import { daemonSettingsSchema } from './daemon-settings.js'
import { readDocument } from './ecosystem-file.js'
import { taskInputSchema, type TaskInput } from './task-input.js'
import { issueMessages } from './validation.js'

export const ecosystemSchema = z.strictObject({
  $schema: z.string().optional(),
  supervisor: daemonSettingsSchema.optional(),
  tasks: z.array(taskInputSchema, { error: 'expected an array of tasks' }),
})

export type Ecosystem = z.output<typeof ecosystemSchema>

export interface LoadedEcosystem extends Ecosystem {
  /** Folder of the file: relative scripts resolve against it. */
  baseDir: string
}

/** Validate a parsed ecosystem document; every problem is listed, by task and field. */
export function parseEcosystem(document: unknown, baseDir: string): LoadedEcosystem {
  const result = ecosystemSchema.safeParse(document)
  const problems = result.success ? [] : issueMessages(result.error.issues).map((m) => labelTask(m, document))
  if (result.success) problems.push(...duplicateNames(result.data.tasks))
  if (!result.success || problems.length > 0) throw new DomainError('invalid', problems.join('\n'))
  return { ...result.data, baseDir }
}

/** Everything of the file but the tasks' contents, which the daemon validates when they arrive. */
const envelopeSchema = ecosystemSchema.extend({ tasks: z.array(z.unknown(), { error: 'expected an array of tasks' }) })

/** The tasks of a document whose every other part is valid (for `ctl apply`); each task unchecked. */
export function envelopeTasks(document: unknown): unknown[] {
  const result = envelopeSchema.safeParse(document)
  if (!result.success) throw new DomainError('invalid', issueMessages(result.error.issues).join('\n'))
  return result.data.tasks
}

export async function loadEcosystem(file: string): Promise<LoadedEcosystem> {
  const { document, baseDir } = await readDocument(file)
  return parseEcosystem(document, baseDir)
}

/** One problem for every task whose name an earlier task of the same file already has. */
export function duplicateNames(tasks: readonly Pick<TaskInput, 'name'>[]): string[] {
  const seen = new Set<string>()
  const problems: string[] = []
  tasks.forEach((task, i) => {
    if (seen.has(task.name)) problems.push(`tasks[${i}] (${task.name}).name: duplicate name "${task.name}"`)
    seen.add(task.name)
  })
  return problems
}

/** "tasks[3].priority: ..." becomes "tasks[3] (backup).priority: ..." when the task has a name. */
function labelTask(message: string, document: unknown): string {
  const match = /^tasks\[(\d+)\]/.exec(message)
  if (match === null) return message
  const tasks = (document as { tasks?: unknown[] }).tasks
  const name = (tasks?.[Number(match[1])] as { name?: unknown } | undefined)?.name
  return typeof name === 'string' ? message.replace(match[0], `${match[0]} (${name})`) : message
}
