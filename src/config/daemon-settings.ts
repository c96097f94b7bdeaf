// Daemon options: the ecosystem's `supervisor` section and the `daemon` flags, one schema, flags win.
import { hostname } from 'node:os'
import { z } from 'zod'
import { DomainError } from '../core/errors.js'
import { parseDuration, parseSize } from './units.js'
import { got } from './validation.js'
import { DEFAULT_BACKOFF } from '../core/backoff.js'
import { EVENT_TYPES, type BackoffPolicy } from '../core/types.js'
import { amount, backoffSchema, LONGEST, NAME_PATTERN, toBackoff, USER_PATTERN } from './task-input.js'

const SIZE_FORMS = 'a size such as 512M, 2G, bytes or N%'
const bytesOf = (text: string): number | null => parseSize(text, 1)

const HOOK_EVENTS = [...EVENT_TYPES, '*'] as const

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/** A webhook: where matching events are POSTed, signed with `secret` when it has one. */
const webhookSchema = z.strictObject({
  url: z.string({ error: got('an http(s) URL') }).refine(isHttpUrl, { error: got('an http(s) URL') }),
  events: z.array(z.enum(HOOK_EVENTS, { error: got(`an event type (${EVENT_TYPES.join(', ')}) or *`) }), { error: got('a list of event types') })
    .min(1, { error: got('at least one event type, or ["*"]') }),
  // Never echoed in a message, even when it is of the wrong type.
  secret: z.string({ error: 'expected a non-empty string (its value is not shown)' }).min(1, { error: 'expected a non-empty string' }).optional(),
  tasks: z.array(z.string().regex(NAME_PATTERN, { error: got('a task name') }), { error: got('a list of task names') }).optional(),
}, { error: got('an object {url, events, secret?, tasks?}') })

export const daemonSettingsSchema = z.strictObject({
  host: z.string({ error: got('a host name or address') }).min(1).optional(),
  port: z.number({ error: got('a port from 0 to 65535') }).int().min(0).max(65535, { error: got('a port from 0 to 65535') }).optional(),
  tick: z.number({ error: got('milliseconds from 1 to 60000') }).int().min(1, { error: got('milliseconds from 1 to 60000') }).max(60_000).optional(),
  maxConcurrent: z.number({ error: got('a whole number from 1 to 10000') }).int().min(1, { error: got('a whole number from 1 to 10000') }).max(10_000).optional(),
  maxCpu: z.number({ error: got('a percentage from 0 to 100') }).min(0, { error: got('a percentage from 0 to 100') }).max(100, { error: got('a percentage from 0 to 100') }).optional(),
  minFreeMemory: amount(SIZE_FORMS, bytesOf, { positive: false }).optional(),
  killTimeout: amount('a duration such as 5s', parseDuration, { positive: true, most: LONGEST }).optional(),
  urgency: amount('a duration such as 5m', parseDuration, { positive: false, most: LONGEST }).optional(),
  stableAfter: amount('a duration such as 10s', parseDuration, { positive: false, most: LONGEST }).optional(),
  // The forecast's guess for a run whose task has no expected duration yet (learned or `expect`).
  defaultExpect: amount('a duration such as 1m', parseDuration, { positive: true, most: LONGEST }).optional(),
  backoff: backoffSchema.optional(),
  logMaxSize: amount('a size such as 10M', bytesOf, { positive: true }).optional(),
  historyKeep: z.number({ error: got('a whole number of events from 1000') }).int().min(1000, { error: got('a whole number of events from 1000') }).optional(),
  logFiles: z.number({ error: got('a whole number from 0 to 100') }).int().min(0, { error: got('a whole number from 0 to 100') }).max(100, { error: got('a whole number from 0 to 100') }).optional(),
  // Who tasks given with a token may run as; unset, anyone but root (see api/api-users.ts).
  apiUsers: z.array(z.string().regex(USER_PATTERN, { error: got('a user name') }), { error: got('a list of user names') }).optional(),
  // Open HTTP/WebSocket connections at most; the descriptor limit lowers it further (api/listener-bounds.ts).
  maxConnections: z.number({ error: got('a whole number from 1') }).int().min(1, { error: got('a whole number from 1') }).optional(),
  // Tasks made due when a task that names no onFailure of its own fails for good or misses its deadline.
  onFailure: z.array(z.string().regex(NAME_PATTERN, { error: got('a task name') }), { error: got('a list of task names') }).optional(),
  notify: z.array(webhookSchema, { error: got('a list of webhooks') }).optional(),
  // Where the queue lives: unset, the embedded LevelDB in the home; a postgres:// URL, PostgreSQL.
  store: z.string({ error: got('a postgres://USER@HOST:PORT/DB URL') }).refine(isPostgresUrl, { error: got('a postgres://USER@HOST:PORT/DB URL') }).optional(),
  // This daemon's name in a cluster (PostgreSQL store); default: the host name.
  node: z.string({ error: got('a node name: 1-128 of A-Z a-z 0-9 . _ -') }).regex(NAME_PATTERN, { error: got('a node name: 1-128 of A-Z a-z 0-9 . _ -') }).optional(),
  // How long a node may be silent before another one declares it lost and moves its runs.
  nodeTimeout: amount('a duration such as 30s (at least 3s)', parseDuration, { positive: true, most: LONGEST })
    .refine((v) => (typeof v === 'number' ? v : (parseDuration(v) ?? 0)) >= 3000, { error: got('a duration such as 30s (at least 3s)') }).optional(),
})

/** The host name, made a valid node name (a host name may be longer, or hold other characters). */
function defaultNodeName(): string {
  const name = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128)
  return name === '' ? 'node' : name
}

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1
  } catch {
    return false
  }
}

export interface Webhook {
  url: string
  events: string[]
  secret: string | null
  tasks: string[] | null
}

export type DaemonSettingsInput = z.output<typeof daemonSettingsSchema>

export interface DaemonSettings {
  host: string
  port: number
  tickMs: number
  maxConcurrent: number
  maxCpu: number
  minFreeBytes: number
  killTimeoutMs: number
  urgencyMs: number
  stableMs: number
  /** The forecast's guess for a run of unknown duration. */
  defaultExpectMs: number
  backoff: BackoffPolicy
  logMaxBytes: number
  logFiles: number
  historyKeep: number
  /** Users tasks given with a token may run as on a root daemon; null: anyone but root. */
  apiUsers: string[] | null
  /** The configured bound on HTTP/WebSocket connections; null: only the descriptor limit's. */
  maxConnections: number | null
  /** Every task's `onFailure` unless it names its own. */
  defaultOnFailure: string[]
  /** Where events are POSTed. */
  notify: Webhook[]
  /** A PostgreSQL URL, or null for the embedded LevelDB. */
  store: string | null
  /** This daemon's node name (the host name unless set). */
  node: string
  /** A node silent this long is lost (a cluster). */
  nodeTimeoutMs: number
}

export const DEFAULT_SETTINGS: DaemonSettingsInput = {
  host: '127.0.0.1', port: 7070, tick: 25, maxConcurrent: 3, maxCpu: 85, minFreeMemory: '10%', killTimeout: '5s', urgency: '5m',
  stableAfter: '10s', defaultExpect: '1m', logMaxSize: '10M', logFiles: 3, historyKeep: 1_000_000, nodeTimeout: '30s',
}

/** Defaults, then the file's section, then the flags; sizes and durations resolved. */
export function resolveSettings(layers: DaemonSettingsInput[], totalMemory: number): DaemonSettings {
  const merged = Object.assign({}, DEFAULT_SETTINGS, ...layers.map(withoutUndefined)) as { [K in keyof DaemonSettingsInput]-?: Exclude<DaemonSettingsInput[K], undefined> }
  const bytes = (v: string | number): number => (typeof v === 'number' ? v : (parseSize(v, totalMemory) as number))
  const ms = (v: string | number): number => (typeof v === 'number' ? v : (parseDuration(v) as number))
  return {
    host: merged.host, port: merged.port, tickMs: merged.tick, maxConcurrent: merged.maxConcurrent,
    maxCpu: merged.maxCpu, minFreeBytes: bytes(merged.minFreeMemory), killTimeoutMs: ms(merged.killTimeout),
    urgencyMs: ms(merged.urgency), stableMs: ms(merged.stableAfter), defaultExpectMs: ms(merged.defaultExpect),
    backoff: merged.backoff === undefined ? DEFAULT_BACKOFF : toBackoff(merged.backoff),
    logMaxBytes: bytes(merged.logMaxSize), logFiles: merged.logFiles, historyKeep: merged.historyKeep,
    apiUsers: merged.apiUsers ?? null, maxConnections: merged.maxConnections ?? null, defaultOnFailure: merged.onFailure ?? [],
    store: merged.store ?? null,
    node: merged.node ?? defaultNodeName(),
    nodeTimeoutMs: ms(merged.nodeTimeout),
    notify: (merged.notify ?? []).map((hook) => ({ url: hook.url, events: hook.events, secret: hook.secret ?? null, tasks: hook.tasks ?? null })),
  }
}

/** Validate settings; `name` turns a key into what the user wrote (`--max-cpu`, `supervisor.maxCpu`). */
export function parseSettings(value: unknown, name: (key: string) => string): DaemonSettingsInput {
  const result = daemonSettingsSchema.safeParse(value)
  if (result.success) return result.data
  const messages = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${name(key)}: unknown setting`)
      : [`${name(issue.path.map(String).join('.'))}: ${issue.message}`],
  )
  throw new DomainError('invalid', messages.join('; '))
}

/** `maxConcurrent` -> `--max-concurrent`. */
export const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`



function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
