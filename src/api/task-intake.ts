// Task inputs on their way in: validated as they arrive (a large apply comes in parts), resolved into
// definitions, and checked against the machine (scripts, users) once all of them are in.
import { DomainError } from '../core/errors.js'
import type { TaskSpec } from '../core/types.js'
import { resolveTask, taskInputSchema, type TaskInput } from '../config/task-input.js'
import { folderProblem, scriptProblem } from '../config/script-check.js'
import { issueMessages } from '../config/validation.js'
import { userProblem, users, type UserDirectory } from '../runtime/users.js'
import { apiUserProblem, type ApiUserRule } from './api-users.js'
import type { DaemonContext } from './context.js'

/** `users` replaces the daemon's account directory (tests count its lookups). */
type IntakeContext = Pick<DaemonContext, 'clock' | 'totalMemory'> & { users?: UserDirectory }

/** "tasks[3] (backup)": an input of an apply by its position, and its name when it has one. */
export function applyLabel(i: number, task: unknown): string {
  const name = (task as { name?: unknown } | null)?.name
  return typeof name === 'string' ? `tasks[${i}] (${name})` : `tasks[${i}]`
}

/**
 * The tasks of one add or apply. `take` validates inputs as they come and resolves them at once when
 * their folder is known; `finish` resolves the rest, checks every script and user, and answers every
 * definition in input order, or throws one error listing all problems, each by task and field: `forbidden`
 * if a task would run as a user the caller's `rule` does not allow, else `invalid`.
 */
export class TaskIntake {
  private readonly problems: string[] = []
  /** Whether a problem is a task the caller may not run as its user (the error is then `forbidden`). */
  private refused = false
  /** Valid inputs in order: their definition once resolved, null if resolving failed. */
  private readonly specs: (TaskSpec | null | undefined)[] = []
  /** Where each valid input stands among all inputs taken, for its label. */
  private readonly positions: number[] = []
  /** Valid inputs taken without a folder: resolved by `finish` against the last part's. */
  private readonly waiting: { slot: number; input: TaskInput }[] = []
  private count = 0

  /** `label(i, task)` names the input at position i of the whole intake ("" for a lone task). */
  constructor(
    private readonly ctx: IntakeContext,
    private readonly label: (i: number, task: unknown) => string,
    private readonly rule: ApiUserRule | null = null,
  ) {}

  /** How many inputs were taken, valid or not. */
  get size(): number {
    return this.count
  }

  take(inputs: readonly unknown[], baseDir: string | undefined): void {
    const now = this.ctx.clock.now()
    for (const raw of inputs) {
      const position = this.count
      this.count += 1
      this.noteName(position, raw)
      const parsed = taskInputSchema.safeParse(raw)
      if (!parsed.success) {
        const label = this.label(position, raw)
        for (const message of issueMessages(parsed.error.issues)) this.problems.push(at(label, message))
        continue
      }
      const slot = this.specs.length
      this.positions.push(position)
      if (baseDir === undefined) {
        this.specs.push(undefined)
        this.waiting.push({ slot, input: parsed.data })
      } else {
        this.specs.push(this.resolve(parsed.data, slot, now, baseDir))
      }
    }
  }

  /** Names given twice, valid inputs or not: told with every other problem, not after them. */
  private readonly names = new Map<string, number>()
  private readonly duplicates: string[] = []

  private noteName(position: number, raw: unknown): void {
    const name = typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined
    if (typeof name !== 'string') return
    if (this.names.has(name)) this.duplicates.push(at(this.label(position, raw), `name: duplicate name "${name}"`))
    else this.names.set(name, position)
  }

  async finish(baseDir: string): Promise<TaskSpec[]> {
    const now = this.ctx.clock.now()
    for (const { slot, input } of this.waiting) this.specs[slot] = this.resolve(input, slot, now, baseDir)
    // Each script and folder once (an apply of 100k tasks names a handful), all checked before the
    // loop: an await per task cost 100 ms of microtasks for 100k tasks.
    const scripts = new Set<string>()
    const folders = new Set<string>()
    for (const spec of this.specs) {
      if (spec == null) continue
      scripts.add(spec.script)
      if (spec.cwd !== null) folders.add(spec.cwd)
    }
    const [problems, folderProblems] = await Promise.all([checkEach(scripts, scriptProblem), checkEach(folders, folderProblem)])
    // Users the same way: 5,000 tasks as one user make one lookup, and none blocks the daemon.
    const directory = this.ctx.users ?? users
    const names = new Set<string>()
    for (const spec of this.specs) if (spec != null && spec.user !== null) names.add(spec.user)
    const userIssues = new Map(await Promise.all([...names].map(async (name) => [name, await userProblem(name, directory)] as const)))
    const accounts = this.rule === null
      ? new Map<string, null>()
      : new Map(await Promise.all([...names].map(async (name) => [name, await directory.lookup(name)] as const)))
    const specs: TaskSpec[] = []
    for (let slot = 0; slot < this.specs.length; slot += 1) {
      const spec = this.specs[slot]
      if (spec == null) continue
      specs.push(spec)
      const problem = problems.get(spec.script)
      if (problem != null) this.problems.push(at(this.labelOf(slot, spec), `script: ${problem}`))
      const folderIssue = spec.cwd === null ? null : folderProblems.get(spec.cwd)
      if (folderIssue != null) this.problems.push(at(this.labelOf(slot, spec), `cwd: ${folderIssue}`))
      const userIssue = spec.user === null ? null : userIssues.get(spec.user)
      if (userIssue != null) this.problems.push(at(this.labelOf(slot, spec), `user: ${userIssue}`))
      const refusal = this.rule === null ? null : apiUserProblem(this.rule, spec.name, spec.user, spec.user === null ? null : accounts.get(spec.user) ?? null)
      if (refusal !== null) {
        this.refused = true
        this.problems.push(at(this.labelOf(slot, spec), `user: ${refusal}`))
      }
    }
    this.problems.push(...this.duplicates)
    if (this.problems.length > 0) throw new DomainError(this.refused ? 'forbidden' : 'invalid', this.problems.join('\n'))
    return specs
  }

  private resolve(input: TaskInput, slot: number, now: number, baseDir: string): TaskSpec | null {
    try {
      return resolveTask(input, { now, baseDir, totalMemory: this.ctx.totalMemory })
    } catch (error) {
      if (!(error instanceof DomainError)) throw error
      // One line a field at fault, each under the task's label.
      for (const line of error.message.split('\n')) this.problems.push(at(this.labelOf(slot, input), line))
      return null
    }
  }

  private labelOf(slot: number, task: { name: string }): string {
    return this.label(this.positions[slot] ?? 0, task)
  }
}

/** What `check` says of each of `paths`, checked all at once. */
async function checkEach(paths: Set<string>, check: (path: string) => Promise<string | null>): Promise<Map<string, string | null>> {
  return new Map(await Promise.all([...paths].map(async (path) => [path, await check(path)] as const)))
}

function at(label: string, message: string): string {
  return label === '' ? message : `${label}.${message}`
}
