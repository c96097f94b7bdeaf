// What execve(2) refuses, refused at the boundary instead of at spawn: NUL bytes, over-long strings,
// environment names that cannot be names, and arguments and environment too large in all.
import { z } from 'zod'
import { got } from './validation.js'

/** Linux MAX_ARG_STRLEN is 131072 bytes with the terminating NUL: one argument or KEY=VALUE at most this. */
export const MAX_ARG_BYTES = 131_071
/**
 * The task's own arguments and environment in all, well below ARG_MAX (2 MiB with the usual 8 MiB
 * stack), leaving room for the environment the daemon passes on. Each string counts as execve counts
 * it: its bytes, its NUL and its pointer (8 bytes).
 */
export const MAX_EXEC_BYTES = 1024 * 1024
const PER_STRING = 1 + 8

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8')
const tooLong = (issue: { input?: unknown }): string =>
  `expected at most ${MAX_ARG_BYTES} bytes, got ${typeof issue.input === 'string' ? bytes(issue.input) : 0} bytes`

/** A string handed to execve (script, argument, folder): no NUL byte, at most MAX_ARG_BYTES. */
export function execText<S extends z.ZodType<string>>(schema: S): S {
  return schema
    .refine((text) => !text.includes('\0'), { error: got('a string without NUL bytes'), abort: true })
    .refine((text) => bytes(text) <= MAX_ARG_BYTES, { error: tooLong }) as S
}

const ENV_NAME = 'an environment variable name (not empty, no "=" or NUL byte, not __proto__)'
const envKey = z.string().refine((key) => key !== '' && !key.includes('=') && !key.includes('\0'))

/**
 * `env`: names and values execve can pass. `__proto__` is checked on the raw object, since a record
 * drops that key without a word (it would set the prototype of the object it builds).
 */
export const envSchema = z.preprocess((value, ctx) => {
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', path: ['__proto__'], input: '__proto__', message: got(ENV_NAME)({ input: '__proto__' }) })
  }
  return value
}, z.record(envKey, execText(z.string({ error: got('a string') })), {
  error: (issue) => (issue.code === 'invalid_key' ? got(ENV_NAME)(issue) : got('an object of strings')(issue)),
}))

export interface FieldProblem {
  path: PropertyKey[]
  message: string
}

/** Problems of the whole: each KEY=VALUE within MAX_ARG_BYTES, script, args and env within MAX_EXEC_BYTES. */
export function execFieldProblems(task: { script: string; args?: string[] | undefined; env?: Record<string, string> | undefined }): FieldProblem[] {
  const problems: FieldProblem[] = []
  let total = bytes(task.script) + PER_STRING
  for (const arg of task.args ?? []) total += bytes(arg) + PER_STRING
  for (const [key, value] of Object.entries(task.env ?? {})) {
    const entry = bytes(key) + 1 + bytes(value)
    if (entry > MAX_ARG_BYTES) problems.push({ path: ['env', key], message: `expected KEY=VALUE of at most ${MAX_ARG_BYTES} bytes, got ${entry} bytes` })
    total += entry + PER_STRING
  }
  if (total > MAX_EXEC_BYTES) {
    problems.push({ path: [task.args === undefined ? 'env' : 'args'], message: `expected script, args and env of at most ${MAX_EXEC_BYTES} bytes in all, got ${total} bytes` })
  }
  return problems
}
