// The request methods shared by the control socket and the WebSocket API: params in, result out.
import { z } from 'zod'
import { waitingReason } from '../core/admission.js'
import { DomainError, notFound } from '../core/errors.js'
import { LIVE_STATES, type Task, type TaskSpec } from '../core/types.js'
import { NO_TIMES, taskView, type TaskView } from '../core/view.js'
import { got, parseOrThrow } from '../config/validation.js'
import { NAME_PATTERN } from '../config/task-input.js'
import { readLog } from '../runtime/log-reader.js'
import { existsSync } from 'node:fs'
import { logPath } from '../runtime/log-files.js'
import { allows, type DaemonContext, type Scope } from './context.js'
import { apiUserProblem, apiUserRule } from './api-users.js'
import { eventFor } from './redact.js'
import { daemonInfo, nodeViews } from './daemon-info.js'
import { applyLabel, TaskIntake } from './task-intake.js'
import { previewApply } from './apply-preview.js'
import { forecastOf, forecastRow, laterSlots, timesOf, VIEW_HORIZON_MS } from './forecast-view.js'
import type { ForecastResult } from '../core/forecast.js'
import { parseDuration } from '../config/units.js'
import { decide } from '../core/decide.js'
import { lookupUser } from '../runtime/users.js'

export interface Method {
  scope: Scope
  /** `scope` is the caller's: what it may see and whom its tasks may run as depend on it. */
  handle(ctx: DaemonContext, params: unknown, scope: Scope): Promise<unknown>
}

const noParams = z.strictObject({}).optional()
const statusParams = z.strictObject({ gc: z.boolean({ error: 'expected true or false' }).optional() }).optional()
const shutdownParams = z.strictObject({ keepRunning: z.boolean({ error: 'expected true or false' }).optional() }).optional()
const nameParams = z.strictObject({ name: z.string({ error: 'expected a task name' }) })
export const applyParams = z.strictObject({
  tasks: z.array(z.unknown(), { error: 'expected an array of tasks' }),
  prune: z.boolean({ error: 'expected true or false' }).optional(),
  baseDir: z.string({ error: 'expected a folder path' }).optional(),
  /** Answer what the apply would change, and change nothing. */
  dryRun: z.boolean({ error: 'expected true or false' }).optional(),
})
const tokenCreateParams = z.strictObject({
  scope: z.enum(['read', 'admin'], { error: got('read|admin') }),
  name: z.string({ error: got('a label') }).max(100, { error: 'must be at most 100 characters' }).optional(),
})
const tokenIdParams = z.strictObject({ id: z.string({ error: 'expected a token id' }).max(64) })
/** A count a listing asks for: one message for every way it can be wrong ("abc", 0, 1.5, 1e9). */
const count = (): z.ZodNumber => {
  const error = got('a whole number from 1 to 100000')
  return z.number({ error }).int({ error }).min(1, { error }).max(100_000, { error })
}
const logsParams = z.strictObject({
  name: z.string({ error: 'expected a task name' }).regex(NAME_PATTERN, { error: 'expected a task name' }),
  lines: count().optional(),
  from: z.strictObject({ out: z.number().int().min(0), err: z.number().int().min(0) }).optional(),
  timestamps: z.boolean({ error: 'expected true or false' }).optional(),
})
const forecastParams = z.strictObject({
  horizon: z.string({ error: 'expected a duration such as 6h' })
    .refine((text) => { const ms = parseDuration(text); return ms !== null && ms > 0 && ms <= MAX_HORIZON_MS }, { error: 'expected a duration such as 6h, at most 366d' })
    .optional(),
})
/** A forecast further out than a year says nothing a user could act on. */
const MAX_HORIZON_MS = 366 * 24 * 60 * 60 * 1000
const historyParams = z.strictObject({
  task: z.string().optional(),
  limit: count().optional(),
})

/** A task's JSON. `forecast`: one made for many views at once (a list); else one up to this task's start. */
export function viewOf(ctx: DaemonContext, task: Task, forecast?: ForecastResult): TaskView & { logs: { out: string; err: string } } {
  const { supervisor } = ctx
  // A finished task has no forecast: none is made for it.
  const times = !LIVE_STATES.has(task.state) ? NO_TIMES : timesOf(task, forecast ?? forecastOf(ctx, VIEW_HORIZON_MS, task.spec.name))
  const dependents = supervisor.state.dependents.get(task.spec.name) ?? []
  const view = taskView(task, waitingReason(supervisor.state, task, supervisor.resources, ctx.limits, supervisor.blocked), times, [...dependents])
  const dir = supervisor.options.logDir
  return Object.assign(view, { logs: { out: logPath(dir, task.spec.name, 'out'), err: logPath(dir, task.spec.name, 'err') } })
}

/** The definition a task last had: its live record, else the latest one its history holds. */
async function recordedSpec(ctx: DaemonContext, name: string): Promise<TaskSpec> {
  const live = ctx.supervisor.state.tasks.get(name)
  if (live !== undefined) return live.spec
  const history = await ctx.store.history({ task: name, limit: 100_000 })
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const event = history[i]
    if (event?.type === 'task.added' || event?.type === 'task.updated') return event.spec
  }
  throw notFound(name)
}

function getTask(ctx: DaemonContext, name: string): Task {
  const task = ctx.supervisor.state.tasks.get(name)
  if (task === undefined) throw notFound(name)
  return task
}

/** Apply every task an intake took, all or nothing; `baseDir` resolves those taken without one. */
export async function applyIntake(ctx: DaemonContext, intake: TaskIntake, baseDir: string | undefined, prune: boolean | undefined, dryRun = false): Promise<unknown> {
  // Every problem at once, duplicate names among them.
  const specs = await intake.finish(baseDir ?? process.cwd())
  const action = { type: 'apply', now: ctx.clock.now(), specs, prune: prune ?? false } as const
  if (dryRun) {
    // Decided as the apply would be, on the state as last logged, and neither logged nor carried out.
    const { dispatcher } = ctx.supervisor
    return dispatcher.serial(async () => previewApply(dispatcher.state, decide(dispatcher.state, action)))
  }
  const decision = await ctx.supervisor.request(action)
  return summarize(decision.events)
}

/** A change to one named task that answers with the task as it is afterwards. */
function taskVerb(type: 'run' | 'stop' | 'restart'): Method {
  return {
    scope: 'admin',
    async handle(ctx, params) {
      const { name } = parseOrThrow(nameParams, params)
      await ctx.supervisor.request({ type, now: ctx.clock.now(), name })
      return viewOf(ctx, getTask(ctx, name))
    },
  }
}

export const methods: Record<string, Method> = {
  'tasks.list': {
    scope: 'read',
    async handle(ctx, params) {
      parseOrThrow(noParams, params)
      // One forecast for the whole list (the same moment for every task in it).
      const forecast = forecastOf(ctx)
      return [...ctx.supervisor.state.tasks.values()].map((task) => viewOf(ctx, task, forecast))
    },
  },
  'forecast.list': {
    scope: 'read',
    async handle(ctx, params) {
      const { horizon } = parseOrThrow(forecastParams, params ?? {})
      const horizonMs = horizon === undefined ? VIEW_HORIZON_MS : (parseDuration(horizon) as number)
      const result = forecastOf(ctx, horizonMs)
      const { tasks } = ctx.supervisor.state
      return result.rows.map((row) => ({ ...forecastRow(row), slots: laterSlots(tasks.get(row.task), row.start, result.horizonEnd) }))
    },
  },
  'tasks.get': {
    scope: 'read',
    handle: async (ctx, params) => viewOf(ctx, getTask(ctx, parseOrThrow(nameParams, params).name)),
  },
  'tasks.add': {
    scope: 'admin',
    async handle(ctx, params, scope) {
      const intake = new TaskIntake(ctx, () => '', apiUserRule(scope, ctx.settings.apiUsers))
      intake.take([params], process.cwd())
      const [spec] = (await intake.finish(process.cwd())) as [TaskSpec]
      await ctx.supervisor.request({ type: 'add', now: ctx.clock.now(), spec })
      return viewOf(ctx, getTask(ctx, spec.name))
    },
  },
  'tasks.apply': {
    scope: 'admin',
    async handle(ctx, params, scope) {
      const { tasks, prune, baseDir, dryRun } = parseOrThrow(applyParams, params)
      const intake = new TaskIntake(ctx, applyLabel, apiUserRule(scope, ctx.settings.apiUsers))
      intake.take(tasks, baseDir)
      return applyIntake(ctx, intake, baseDir, prune, dryRun === true)
    },
  },
  'tasks.run': taskVerb('run'),
  'tasks.stop': taskVerb('stop'),
  'tasks.restart': taskVerb('restart'),
  'tasks.remove': {
    scope: 'admin',
    async handle(ctx, params) {
      const { name } = parseOrThrow(nameParams, params)
      await ctx.supervisor.request({ type: 'remove', now: ctx.clock.now(), name })
      return { removed: name }
    },
  },
  'history.list': {
    scope: 'read',
    async handle(ctx, params, scope) {
      const { task, limit } = parseOrThrow(historyParams, params ?? {})
      const events = await ctx.store.history({ ...(task === undefined ? {} : { task }), limit: limit ?? 1000 })
      return scope === 'read' ? events.map((event) => eventFor(scope, event)) : events
    },
  },
  'tasks.logs': {
    scope: 'read',
    async handle(ctx, params) {
      const { name, lines, from, timestamps } = parseOrThrow(logsParams, params)
      const dir = ctx.supervisor.options.logDir
      const known = ctx.supervisor.state.tasks.has(name) || existsSync(logPath(dir, name, 'out')) || existsSync(logPath(dir, name, 'err'))
      if (!known) throw notFound(name)
      const [out, err] = await Promise.all([
        readLog(dir, name, 'out', lines ?? 100, from?.out, { timestamps: timestamps === true }),
        readLog(dir, name, 'err', lines ?? 100, from?.err, { timestamps: timestamps === true }),
      ])
      // Logs stay on the node that ran the task: in a cluster, say where its last run's are if not here.
      const { state } = ctx.supervisor
      const ranOn = state.tasks.get(name)?.node ?? null
      const elsewhere = state.config.shared && ranOn !== null && ranOn !== ctx.settings.node ? { node: ranOn } : {}
      return { out, err, ...elsewhere }
    },
  },
  'tasks.replay': {
    scope: 'admin',
    async handle(ctx, params, scope) {
      const { name } = parseOrThrow(nameParams, params)
      const spec = await recordedSpec(ctx, name)
      // A definition from before the rule (or from the control socket) must not run as root by a token either.
      const rule = apiUserRule(scope, ctx.settings.apiUsers)
      const refusal = rule === null ? null : apiUserProblem(rule, name, spec.user, spec.user === null ? null : await lookupUser(spec.user))
      if (refusal !== null) throw new DomainError('forbidden', `user: ${refusal}`)
      await ctx.supervisor.request({ type: 'replay', now: ctx.clock.now(), name, spec })
      return viewOf(ctx, getTask(ctx, name))
    },
  },
  'errors.list': {
    scope: 'read',
    async handle(ctx, params) {
      parseOrThrow(noParams, params)
      const groups = [...(await ctx.store.errors()), ...(ctx.webhookErrors?.() ?? [])]
      return groups.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen))
    },
  },
  'tokens.create': {
    scope: 'owner',
    async handle(ctx, params) {
      const { scope, name } = parseOrThrow(tokenCreateParams, params)
      return ctx.tokens.create(scope, name ?? '', ctx.clock.now())
    },
  },
  'tokens.list': {
    scope: 'owner',
    async handle(ctx, params) {
      parseOrThrow(noParams, params)
      return ctx.tokens.list()
    },
  },
  'tokens.revoke': {
    scope: 'owner',
    async handle(ctx, params) {
      const { id } = parseOrThrow(tokenIdParams, params)
      if (!(await ctx.tokens.revoke(id))) throw new DomainError('not_found', `token "${id}" not found`)
      return { revoked: id }
    },
  },
  'daemon.status': {
    scope: 'read',
    async handle(ctx, params) {
      const { gc } = parseOrThrow(statusParams, params) ?? {}
      // For benchmarks: a daemon started with --expose-gc can be asked to collect before it reports.
      const collect = (globalThis as { gc?: () => void }).gc
      if (gc === true && collect !== undefined) collect()
      return { ...daemonStatus(ctx), firstSeq: await ctx.store.firstSeq() }
    },
  },
  'daemon.info': {
    scope: 'read',
    async handle(ctx, params) {
      parseOrThrow(noParams, params)
      return daemonInfo(ctx)
    },
  },
  'nodes.list': {
    scope: 'read',
    async handle(ctx, params) {
      parseOrThrow(noParams, params)
      return nodeViews(ctx)
    },
  },
  // Like stopping, reloading is for the daemon's own user: the file it reads is the owner's.
  'daemon.reload': {
    scope: 'owner',
    async handle(ctx, params) {
      parseOrThrow(noParams, params)
      if (ctx.reload === undefined) throw new DomainError('invalid', 'reload: this daemon cannot reload')
      return ctx.reload()
    },
  },
  // Stopping the daemon is for its own user: an admin token may change tasks, not end the service.
  'daemon.shutdown': {
    scope: 'owner',
    async handle(ctx, params) {
      const { keepRunning } = parseOrThrow(shutdownParams, params) ?? {}
      setImmediate(() => ctx.shutdown(keepRunning === true))
      return { stopping: true, keepRunning: keepRunning === true }
    },
  },
}

export function daemonStatus(ctx: DaemonContext): Record<string, unknown> {
  const { state } = ctx.supervisor
  return {
    pid: process.pid,
    home: ctx.home,
    startedAt: new Date(ctx.startedAt).toISOString(),
    tasks: state.tasks.size,
    ready: state.ready.size,
    running: state.running.size,
    lastSeq: ctx.store.lastSeq,
    memory: process.memoryUsage(),
    cpuUsage: process.cpuUsage(),
    resources: ctx.supervisor.resources,
    limits: ctx.limits,
  }
}

function summarize(events: readonly { type: string }[]): { added: number; updated: number; removed: number } {
  const count = (type: string): number => events.filter((e) => e.type === type).length
  return { added: count('task.added'), updated: count('task.updated'), removed: count('task.removed') }
}

/** Run a request: find its method, check the caller's scope, answer with a result or a coded error. */
export async function call(ctx: DaemonContext, scope: Scope, method: string, params: unknown): Promise<unknown> {
  const entry = Object.hasOwn(methods, method) ? methods[method] : undefined
  if (entry === undefined) throw new DomainError('invalid', `method: unknown method "${method}"`)
  if (!allows(scope, entry.scope)) {
    const needs = entry.scope === 'owner' ? 'the control socket (the daemon\'s own user)' : 'an admin token'
    throw new DomainError('forbidden', `method: "${method}" needs ${needs}`)
  }
  return entry.handle(ctx, params, scope)
}
