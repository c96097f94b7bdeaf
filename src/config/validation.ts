// Turning schema failures into one message per field: "priority: expected high|medium|low, got \"urgent\"".
import type { z } from 'zod'
import { DomainError } from '../core/errors.js'

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** `tasks[3].env.HOME`; a key that is not a plain identifier is quoted: `env["a b"]`, `[""]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`
    const text = String(key)
    if (!IDENTIFIER.test(text)) return `${out}[${JSON.stringify(text)}]`
    return out === '' ? text : `${out}.${text}`
  }, '')
}

export function issueMessages(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path]
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${fieldPath([...path, key])}: unknown field`)
    }
    return [`${fieldPath(path) || 'value'}: ${issue.message}`]
  })
}

/** Parse `value` with `schema`, or throw an `invalid` error listing every field at fault. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: readonly PropertyKey[] = []): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw new DomainError('invalid', issueMessages(result.error.issues, prefix).join('; '))
}

/** "expected X, got Y" with Y shown as JSON, for custom messages. */
export const got = (expected: string) => (issue: { input?: unknown }): string =>
  `expected ${expected}, got ${JSON.stringify(issue.input) ?? String(issue.input)}`
