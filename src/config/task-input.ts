// The one schema of a task as people write it (ctl add, ecosystem file, tasks.add), and its resolution.
import { hash } from 'node:crypto'
import { resolve } from 'node:path'
import { z } from 'zod'
import { DomainError } from '../core/errors.js'
import { DEFAULT_BACKOFF } from '../core/backoff.js'
import { MISSED_POLICIES, ON_DEADLINE, OVERLAP_POLICIES, PRIORITIES, RESTARTS, type BackoffPolicy, type TaskSpec } from '../core/types.js'
import { cronProblem, nextCronTime } from './cron.js'
import { formatSize } from '../core/admission.js'
import { envSchema, execFieldProblems, execText } from './exec-limits.js'
import { inTimeRange, MAX_DURATION, MAX_DURATION_MS, parseDate, parseDuration, parseSize, TIME_RANGE } from './units.js'
import { got } from './validation.js'

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
/** An account name as useradd allows it (a trailing $ for machine accounts). */
export const USER_PATTERN = /^[a-z_][a-z0-9_.-]*\$?$/i
const DATE_FORMS = 'an ISO 8601 date, "now" or "+DURATION"'
const IN_RANGE = `a date from ${TIME_RANGE}`

// The range is checked here against the epoch (what no now can make valid: 10000-01-01, 1969, or a
// duration past year 9999), and again by resolveTask against the actual now (+3000000d).
const dateExpr = z
  .string({ error: got(DATE_FORMS) })
  .refine((text) => parseDate(text, 0) !== null, { error: got(DATE_FORMS), abort: true })
  .refine((text) => inTimeRange(parseDate(text, 0) ?? 0), { error: got(IN_RANGE) })

/** `at` takes a date, or "manual": due only by `run`, `replay` or a trigger. */
const AT_FORMS = 'an ISO 8601 date, "now", "+DURATION" or "manual"'
const atExpr = z
  .string({ error: got(AT_FORMS) })
  .refine((text) => text === 'manual' || parseDate(text, 0) !== null, { error: got(AT_FORMS), abort: true })
  .refine((text) => text === 'manual' || inTimeRange(parseDate(text, 0) ?? 0), { error: got(IN_RANGE) })

/** Bounds of an `amount`: its largest value and how messages write it. */
export interface Most {
  value: number
  text: string
}

/** The longest duration: 100 years, so that every time computed from one stays a representable date. */
export const LONGEST: Most = { value: MAX_DURATION_MS, text: MAX_DURATION }

/**
 * A whole number, or a text `parse` reads (a duration, a size): above zero when `positive`, else from
 * zero. Whatever is wrong (type, fraction, range, spelling) gets the one message naming the forms;
 * a value past `most` gets its own ("expected at most 36500d").
 */
export function amount(forms: string, parse: (text: string) => number | null, { positive, most }: { positive: boolean; most?: Most }) {
  const error = got(forms)
  const whole = z.number({ error }).int({ error })
  const form = z.union([
    positive ? whole.positive({ error }) : whole.min(0, { error }),
    z.string({ error }).refine((text) => (positive ? (parse(text) ?? 0) > 0 : parse(text) !== null), { error }),
  ], { error })
  if (most === undefined) return form
  return form.refine((value) => (typeof value === 'number' ? value : (parse(value) ?? 0)) <= most.value, {
    error: got(`at most ${most.text}`),
  })
}

const duration = amount('a duration such as 500ms, 10s, 5m, 2h, 1d', parseDuration, { positive: true, most: LONGEST })
const size = amount('a size such as 512K, 256M, 2G, bytes or N%', (text) => parseSize(text, 1), { positive: true })

export const backoffSchema = z.strictObject({
  base: duration.optional(),
  factor: z.number({ error: got('a number from 1 to 10') }).min(1, { error: got('a number from 1 to 10') }).max(10, { error: got('a number from 1 to 10') }).optional(),
  cap: duration.optional(),
}, { error: got('an object {base, factor, cap}') })

/** Names of other tasks (`after`, `onSuccess`, `onFailure`): each a valid name, none twice. */
const taskNames = z
  .array(z.string({ error: got('a task name') }).regex(NAME_PATTERN, { error: got('a task name') }), { error: got('a list of task names') })
  .refine((names) => new Set(names).size === names.length, { error: got('a list of task names without repeats') })

/** Names of cluster nodes (`nodes`): each a valid node name, none twice. */
const nodeNames = z
  .array(z.string({ error: got('a node name') }).regex(NAME_PATTERN, { error: got('a node name: 1-128 of A-Z a-z 0-9 . _ -') }), { error: got('a list of node names') })
  .refine((names) => new Set(names).size === names.length, { error: got('a list of node names without repeats') })

export const taskInputSchema = z.strictObject({
  name: z.string({ error: got('a name') }).regex(NAME_PATTERN, {
    error: got('1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit'),
  }).describe('Unique task name: 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit'),
  script: execText(z.string({ error: got('a path to an executable file') }).min(1, { error: 'must not be empty' }))
    .describe('Executable file to run; relative to the ecosystem file\'s folder'),
  args: z.array(execText(z.string({ error: got('a string') })), { error: got('an array of strings') }).optional(),
  at: atExpr.optional().describe('When it becomes active: ISO 8601 (no offset: local time), "now" or "+DURATION"; "manual": only by run, replay or a trigger'),
  deadline: dateExpr.nullable().optional().describe('When it must have run; same forms; not before at'),
  onDeadline: z.enum(ON_DEADLINE, { error: got(ON_DEADLINE.join('|')) }).optional()
    .describe('At its deadline: run (late anyway), skip (not started: the cycle ends expired), kill (a run still going is ended)'),
  priority: z.enum(PRIORITIES, { error: got(PRIORITIES.join('|')) }).optional(),
  preemptible: z.boolean({ error: got('true or false') }).optional()
    .describe('Its run may be stopped (and queued again, no failure) to make room for a task that would otherwise miss its deadline'),
  front: z.boolean({ error: got('true or false') }).optional(),
  retries: z.number({ error: got('a whole number from 0 to 1000') }).int({ error: got('a whole number from 0 to 1000') })
    .min(0, { error: got('a whole number from 0 to 1000') }).max(1000, { error: got('a whole number from 0 to 1000') })
    .optional(),
  restart: z.enum(RESTARTS, { error: got(RESTARTS.join('|')) }).optional(),
  cron: z.string({ error: got('a cron expression of 5 or 6 fields') }).nullable().optional(),
  missed: z.enum(MISSED_POLICIES, { error: got(MISSED_POLICIES.join('|')) }).optional()
    .describe('Cron slots the daemon was not there for (down, asleep): once (run once for all of them) or skip (wait for the next slot)'),
  overlap: z.enum(OVERLAP_POLICIES, { error: got(OVERLAP_POLICIES.join('|')) }).optional()
    .describe('A cron slot that comes while the previous run (or its retries) still goes on: skip it (recorded), queue it (run right after), replace (stop the run, start the new one)'),
  tz: z.string({ error: got('an IANA time zone such as Europe/Paris') })
    .refine(isTimeZone, { error: got('an IANA time zone such as Europe/Paris') }).nullable().optional(),
  backoff: backoffSchema.optional(),
  after: taskNames.optional().describe('Tasks that must each have succeeded since this task\'s cycle began (for a cron task: since its slot) before it is due'),
  onSuccess: taskNames.optional().describe('Tasks made due when a run of this one succeeds'),
  nodes: nodeNames.optional().describe('Nodes of a cluster it may run on (default: any)'),
  onFailure: taskNames.nullable().optional().describe('Tasks made due when this one fails for good or misses its deadline (default: the daemon\'s onFailure)'),
  timeout: duration.nullable().optional(),
  expect: duration.nullable().optional().describe('How long a run is expected to take, until its runs have shown it: 90s, 2h'),
  memory: size.nullable().optional(),
  cwd: execText(z.string({ error: got('a directory path') }).min(1)).nullable().optional(),
  envFile: execText(z.string({ error: got('a file path') }).min(1, { error: got('a file path') })).nullable().optional()
    .describe('A dotenv file read at each start; env wins over it; relative to the ecosystem file\'s folder'),
  env: envSchema.optional(),
  user: z.string({ error: got('a user name') }).regex(USER_PATTERN, { error: got('a user name') }).nullable().optional(),
}).superRefine((task, ctx) => {
  for (const { path, message } of execFieldProblems(task)) ctx.addIssue({ code: 'custom', path, message })
  if (task.cron != null) {
    // A zone the tz check refused already has its message: the schedule is checked in UTC then.
    const problem = cronProblem(task.cron, task.tz != null && isTimeZone(task.tz) ? task.tz : null)
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem })
  } else if (task.tz != null) {
    ctx.addIssue({ code: 'custom', path: ['tz'], message: 'only applies to a cron schedule' })
  }
  if (task.at === 'manual' && task.cron != null) ctx.addIssue({ code: 'custom', path: ['at'], message: '"manual" does not apply to a cron schedule (its slots make it due)' })
  for (const key of ['after', 'onSuccess', 'onFailure'] as const) {
    if (task[key]?.includes(task.name) === true) ctx.addIssue({ code: 'custom', path: [key], message: `a task cannot name itself ("${task.name}")` })
  }
  for (const key of ['missed', 'overlap'] as const) {
    if (task[key] !== undefined && task.cron == null) ctx.addIssue({ code: 'custom', path: [key], message: 'only applies to a cron schedule' })
  }
  if (task.onDeadline !== undefined && task.onDeadline !== 'run') {
    if (task.deadline == null) ctx.addIssue({ code: 'custom', path: ['onDeadline'], message: `${task.onDeadline} needs a deadline` })
    else if (task.cron != null) ctx.addIssue({ code: 'custom', path: ['onDeadline'], message: `${task.onDeadline} applies to a one-shot task, not a cron schedule (its deadline is one date, not one a cycle)` })
  }
})

export type TaskInput = z.output<typeof taskInputSchema>

export interface ResolveContext {
  now: number
  /** Folder that relative `script` and `cwd` paths resolve against. */
  baseDir: string
  totalMemory: number
}

export const DEFAULT_RETRIES = 3

/**
 * From a valid input to the definition the queue keeps: absolute paths, dates and sizes as numbers.
 * Throws an `invalid` error, one line a field, when a date computed against `now` is out of range.
 */
export function resolveTask(input: TaskInput, ctx: ResolveContext): TaskSpec {
  const problems: string[] = []
  const dateOf = (field: string, text: string): number => {
    const ms = parseDate(text, ctx.now) as number
    if (!inTimeRange(ms)) problems.push(`${field}: ${got(IN_RANGE)({ input: text })}`)
    return ms
  }
  const manual = input.at === 'manual'
  const start = dateOf('at', manual ? 'now' : input.at ?? 'now')
  const cronTz = input.tz ?? null
  // A cron task's `at` is when its schedule starts: it first runs at the first slot from then on.
  let at = start
  if (input.cron != null && problems.length === 0) {
    const first = nextCronTime(input.cron, cronTz, start)
    if (first === null) problems.push(`cron: ${JSON.stringify(input.cron)} has no slot from ${new Date(start).toISOString()} on`)
    at = first ?? start
  }
  const deadline = input.deadline == null ? null : dateOf('deadline', input.deadline)
  const memory = toBytes(input.memory, ctx.totalMemory)
  // A need no machine of this size can meet would wait forever (and, ahead of others, hold them).
  if (memory !== null && memory > ctx.totalMemory) {
    problems.push(`memory: ${got(`at most this machine's memory (${formatSize(ctx.totalMemory)})`)({ input: input.memory })}`)
  }
  if (problems.length > 0) throw new DomainError('invalid', problems.join('\n'))
  if (deadline !== null && deadline < at) {
    throw new DomainError('invalid', `deadline: must not be before at (${new Date(deadline).toISOString()} < ${new Date(at).toISOString()})`)
  }
  const script = resolve(ctx.baseDir, input.script)
  const cwd = input.cwd == null ? null : resolve(ctx.baseDir, input.cwd)
  const envFile = input.envFile == null ? null : resolve(ctx.baseDir, input.envFile)
  // Object.assign, not a spread: the same keys in the same order (so the same digest), 4x faster.
  const written = Object.assign({}, input, { script, cwd }, envFile === null ? {} : { envFile })
  return {
    name: input.name,
    script,
    args: input.args ?? [],
    at,
    deadline,
    onDeadline: input.onDeadline ?? 'run',
    missed: input.missed ?? 'once',
    overlap: input.overlap ?? 'skip',
    preemptible: input.preemptible ?? false,
    manual,
    after: input.after ?? [],
    nodes: input.nodes ?? [],
    onSuccess: input.onSuccess ?? [],
    onFailure: input.onFailure ?? null,
    priority: input.priority ?? 'medium',
    front: input.front ?? false,
    retries: input.retries ?? DEFAULT_RETRIES,
    restart: input.restart ?? 'on-failure',
    cron: input.cron ?? null,
    cronTz,
    backoff: input.backoff === undefined ? null : toBackoff(input.backoff),
    timeoutMs: toMs(input.timeout),
    expectMs: toMs(input.expect),
    memoryBytes: memory,
    cwd,
    env: input.env ?? {},
    envFile,
    user: input.user ?? null,
    digest: digestOf(written),
  }
}

export function toBackoff(input: NonNullable<TaskInput['backoff']>): BackoffPolicy {
  return {
    baseMs: toMs(input.base) ?? DEFAULT_BACKOFF.baseMs,
    factor: input.factor ?? DEFAULT_BACKOFF.factor,
    capMs: toMs(input.cap) ?? DEFAULT_BACKOFF.capMs,
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

/**
 * A stable digest of a definition as written. The schema rebuilds every object in the order of its
 * own keys, so JSON text is already canonical; only the free-form `env` needs its keys sorted (in a
 * copy made only when there are keys to sort: a replacer function cost as much as the hash).
 */
export function digestOf(written: Record<string, unknown>): string {
  const env = written['env']
  const canonical = env !== null && typeof env === 'object' && Object.keys(env).length > 1 ? { ...written, env: sortedKeys(env) } : written
  const full = hash('sha256', JSON.stringify(canonical), 'base64url')
  // A slice would keep the whole 43-character string alive for as long as the task lives (~100 bytes
  // more a task); a copy of its 22 characters does not.
  return Buffer.from(full.slice(0, 22), 'latin1').toString('latin1')
}

function sortedKeys(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** Whether the platform knows `name` as a time zone (its IANA database: Europe/Paris, UTC...). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name })
    return true
  } catch {
    return false
  }
}
