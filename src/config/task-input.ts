// The one schema of a task as people write it (ctl add, ecosystem file, tasks.add), and its resolution.
import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { z } from 'zod'
import { DomainError } from '../core/errors.js'
import { PRIORITIES, RESTARTS, type TaskSpec } from '../core/types.js'
import { parseDate, parseDuration, parseSize } from './units.js'
import { got } from './validation.js'

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const DATE_FORMS = 'an ISO 8601 date, "now" or "+DURATION"'

const dateExpr = z
  .string({ error: got(DATE_FORMS) })
  .refine((text) => parseDate(text, 0) !== null, { error: got(DATE_FORMS) })
const duration = z.union([
  z.number().int().positive(),
  z.string().refine((text) => (parseDuration(text) ?? 0) > 0, { error: got('a duration such as 500ms, 10s, 5m, 2h, 1d') }),
], { error: got('a duration such as 500ms, 10s, 5m, 2h, 1d') })
const size = z.union([
  z.number().int().positive(),
  z.string().refine((text) => (parseSize(text, 1) ?? 0) > 0, { error: got('a size such as 512K, 256M, 2G, bytes or N%') }),
], { error: got('a size such as 512K, 256M, 2G, bytes or N%') })

export const taskInputSchema = z.strictObject({
  name: z.string({ error: got('a name') }).regex(NAME_PATTERN, {
    error: got('1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit'),
  }),
  script: z.string({ error: got('a path to an executable file') }).min(1, { error: 'must not be empty' }),
  args: z.array(z.string({ error: got('a string') }), { error: got('an array of strings') }).optional(),
  at: dateExpr.optional(),
  deadline: dateExpr.nullable().optional(),
  priority: z.enum(PRIORITIES, { error: got(PRIORITIES.join('|')) }).optional(),
  front: z.boolean({ error: got('true or false') }).optional(),
  retries: z.number({ error: got('a whole number from 0 to 1000') }).int({ error: got('a whole number from 0 to 1000') })
    .min(0, { error: got('a whole number from 0 to 1000') }).max(1000, { error: got('a whole number from 0 to 1000') })
    .optional(),
  restart: z.enum(RESTARTS, { error: got(RESTARTS.join('|')) }).optional(),
  timeout: duration.nullable().optional(),
  memory: size.nullable().optional(),
  cwd: z.string({ error: got('a directory path') }).min(1).nullable().optional(),
  env: z.record(z.string(), z.string({ error: got('a string') }), { error: got('an object of strings') }).optional(),
})

export type TaskInput = z.output<typeof taskInputSchema>

export interface ResolveContext {
  now: number
  /** Folder that relative `script` and `cwd` paths resolve against. */
  baseDir: string
  totalMemory: number
}

export const DEFAULT_RETRIES = 3

/** From a valid input to the definition the queue keeps: absolute paths, dates and sizes as numbers. */
export function resolveTask(input: TaskInput, ctx: ResolveContext): TaskSpec {
  const at = parseDate(input.at ?? 'now', ctx.now) as number
  const deadline = input.deadline == null ? null : (parseDate(input.deadline, ctx.now) as number)
  if (deadline !== null && deadline < at) {
    throw new DomainError('invalid', `deadline: must not be before at (${new Date(deadline).toISOString()} < ${new Date(at).toISOString()})`)
  }
  const script = resolve(ctx.baseDir, input.script)
  const cwd = input.cwd == null ? null : resolve(ctx.baseDir, input.cwd)
  const written = { ...input, script, cwd }
  return {
    name: input.name,
    script,
    args: input.args ?? [],
    at,
    deadline,
    priority: input.priority ?? 'medium',
    front: input.front ?? false,
    retries: input.retries ?? DEFAULT_RETRIES,
    restart: input.restart ?? 'on-failure',
    cron: null,
    timeoutMs: toMs(input.timeout),
    memoryBytes: toBytes(input.memory, ctx.totalMemory),
    cwd,
    env: input.env ?? {},
    user: null,
    digest: digestOf(written),
  }
}

function toMs(value: string | number | null | undefined): number | null {
  if (value == null) return null
  return typeof value === 'number' ? value : parseDuration(value)
}

function toBytes(value: string | number | null | undefined, total: number): number | null {
  if (value == null) return null
  return typeof value === 'number' ? value : parseSize(value, total)
}

/** A stable digest of a definition as written (key order does not matter). */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url').slice(0, 22)
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

