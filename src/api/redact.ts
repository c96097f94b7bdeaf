// What a `read` token may see of events: env values are secrets (keys, passwords), so they are hidden.
import type { TaskEvent } from '../core/types.js'
import type { Scope } from './context.js'

/** What stands in for every env value in views for `read` tokens; the names stay. */
export const HIDDEN = '[hidden]'

/** `event` as `scope` may see it: for `read`, a copy whose definition (any event carrying one) has its env values HIDDEN. */
export function eventFor(scope: Scope, event: TaskEvent): TaskEvent {
  if (scope !== 'read' || !('spec' in event)) return event
  const env = Object.fromEntries(Object.keys(event.spec.env).map((key) => [key, HIDDEN]))
  return { ...event, spec: { ...event.spec, env } }
}
