// What an apply would do, without doing it (`ctl apply FILE --dry-run`): the tasks it would add, update
// (with the fields that change) and remove, decided by the same pure code that applies it.
import type { Decision } from '../core/decide.js'
import type { State } from '../core/state.js'
import type { TaskSpec } from '../core/types.js'

export interface ApplyPreview {
  dryRun: true
  added: string[]
  updated: { name: string; fields: string[] }[]
  removed: string[]
}

/** The definition's fields a user wrote (the digest is derived from them). */
const FIELDS: readonly (keyof TaskSpec)[] = [
  'script', 'args', 'at', 'deadline', 'onDeadline', 'preemptible', 'priority', 'front', 'retries', 'restart', 'cron', 'cronTz', 'overlap', 'missed', 'backoff',
  'timeoutMs', 'expectMs', 'memoryBytes', 'cwd', 'env', 'envFile', 'user',
]

/** What `decision` (an apply decided on `state`, not logged) would change. */
export function previewApply(state: State, decision: Decision): ApplyPreview {
  const preview: ApplyPreview = { dryRun: true, added: [], updated: [], removed: [] }
  for (const event of decision.events) {
    if (event.type === 'task.added') preview.added.push(event.task)
    else if (event.type === 'task.removed') preview.removed.push(event.task)
    else if (event.type === 'task.updated') {
      const before = state.tasks.get(event.task)?.spec
      const fields = before === undefined ? [] : FIELDS.filter((key) => JSON.stringify(before[key]) !== JSON.stringify(event.spec[key]))
      preview.updated.push({ name: event.task, fields })
    }
  }
  return preview
}
