// Keeping 100k definitions small in memory. A definition's own part (name, dates, digest) is stored on
// a small fixed-shape object; the part many tasks repeat (script, arguments, settings) is one shared
// frozen profile. Equal strings, empty lists and backoff policies are shared too.
import type { BackoffPolicy, MissedPolicy, OnDeadline, OverlapPolicy, Priority, Restart, TaskSpec } from './types.js'

const EMPTY_ARGS: string[] = Object.freeze([]) as unknown as string[]
const EMPTY_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>

/** The fields of a definition that tasks usually have in common. */
type Profile = Readonly<Omit<TaskSpec, 'name' | 'at' | 'deadline' | 'digest'>>

/** Every field of a definition, in the order of `TaskSpec`: the order its JSON has always had. */
const SPEC_KEYS = [
  'name', 'script', 'args', 'at', 'deadline', 'onDeadline', 'missed', 'overlap', 'preemptible', 'manual', 'after', 'nodes', 'onSuccess', 'onFailure', 'priority', 'front', 'retries', 'restart', 'cron', 'cronTz',
  'backoff', 'timeoutMs', 'expectMs', 'memoryBytes', 'cwd', 'env', 'envFile', 'user', 'digest',
] as const satisfies readonly (keyof TaskSpec)[]

/**
 * A definition whose shared part lives in a profile: 5 fields (~64 bytes) instead of 18 (~170), and one
 * hidden class for all of them. Read-only; JSON and `plainSpec` give the full definition.
 */
class SharedSpec implements TaskSpec {
  constructor(
    readonly name: string,
    readonly at: number,
    readonly deadline: number | null,
    readonly digest: string,
    private readonly profile: Profile,
  ) {}

  get script(): string { return this.profile.script }
  get onDeadline(): OnDeadline { return this.profile.onDeadline }
  get preemptible(): boolean { return this.profile.preemptible }
  get missed(): MissedPolicy { return this.profile.missed }
  get overlap(): OverlapPolicy { return this.profile.overlap }
  get args(): string[] { return this.profile.args }
  get envFile(): string | null { return this.profile.envFile }
  get manual(): boolean { return this.profile.manual }
  get after(): string[] { return this.profile.after }
  get nodes(): string[] { return this.profile.nodes }
  get onSuccess(): string[] { return this.profile.onSuccess }
  get onFailure(): string[] | null { return this.profile.onFailure }
  get priority(): Priority { return this.profile.priority }
  get front(): boolean { return this.profile.front }
  get retries(): number { return this.profile.retries }
  get restart(): Restart { return this.profile.restart }
  get cron(): string | null { return this.profile.cron }
  get cronTz(): string | null { return this.profile.cronTz }
  get backoff(): BackoffPolicy | null { return this.profile.backoff }
  get timeoutMs(): number | null { return this.profile.timeoutMs }
  get expectMs(): number | null { return this.profile.expectMs }
  get memoryBytes(): number | null { return this.profile.memoryBytes }
  get cwd(): string | null { return this.profile.cwd }
  get env(): Record<string, string> { return this.profile.env }
  get user(): string | null { return this.profile.user }

  toJSON(): TaskSpec {
    return plainSpec(this)
  }
}

/** A plain copy of any definition, shared or not (spreading a shared one would lose its profile). */
export function plainSpec(spec: TaskSpec): TaskSpec {
  const plain: Record<string, unknown> = {}
  for (const key of SPEC_KEYS) plain[key] = spec[key]
  return plain as unknown as TaskSpec
}

/** A nullable text in a profile key: null and '' stay apart. */
const opt = (value: string | null): string => (value === null ? '' : `=${value}`)

/**
 * A text that differs whenever profiles differ (fields apart by NUL, which no path, name or schedule
 * holds). Built by hand: JSON.stringify of the whole profile cost 2.5 µs a task, a fifth of a 100k boot.
 */
function profileKey(p: Profile): string {
  const b = p.backoff
  return [
    p.script, p.args.length === 0 ? '' : JSON.stringify(p.args), p.onDeadline, p.missed, p.overlap, p.preemptible ? 1 : 0, p.manual ? 1 : 0,
    JSON.stringify([p.after, p.onSuccess, p.onFailure, p.nodes]), p.priority, p.front ? 1 : 0, p.retries, p.restart,
    opt(p.cron), opt(p.cronTz), b === null ? '' : `${b.baseMs}/${b.factor}/${b.capMs}`, p.timeoutMs ?? '', p.expectMs ?? '',
    p.memoryBytes ?? '', opt(p.cwd), isEmpty(p.env) ? '' : JSON.stringify(p.env), opt(p.user), opt(p.envFile),
  ].join('\u0000')
}

const RECENT_PROFILES = 4

/** Whether a definition has this profile: the same fields `profileKey` tells apart, compared in place. */
function sameProfile(p: Profile, spec: TaskSpec): boolean {
  return p.script === spec.script && p.onDeadline === spec.onDeadline && p.preemptible === spec.preemptible && p.missed === spec.missed && p.overlap === spec.overlap && p.priority === spec.priority && p.front === spec.front && p.retries === spec.retries &&
    p.restart === spec.restart && p.cron === spec.cron && p.cronTz === spec.cronTz && p.timeoutMs === spec.timeoutMs && p.expectMs === spec.expectMs &&
    p.memoryBytes === spec.memoryBytes && p.cwd === spec.cwd && p.user === spec.user && p.envFile === spec.envFile &&
    sameBackoff(p.backoff, spec.backoff) && sameList(p.args, spec.args) && sameEntries(p.env, spec.env) &&
    p.manual === spec.manual && sameList(p.after, spec.after) && sameList(p.nodes, spec.nodes) && sameList(p.onSuccess, spec.onSuccess) &&
    (p.onFailure === null || spec.onFailure === null ? p.onFailure === spec.onFailure : sameList(p.onFailure, spec.onFailure))
}

function sameBackoff(a: BackoffPolicy | null, b: BackoffPolicy | null): boolean {
  return a === b || (a !== null && b !== null && a.baseMs === b.baseMs && a.factor === b.factor && a.capMs === b.capMs)
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false
  return true
}

/** Same keys in the same order with the same values (the order counts in `profileKey` too). */
function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) && isEmpty(b)
  const keys = Object.keys(a)
  return sameList(keys, Object.keys(b)) && keys.every((key) => a[key] === b[key])
}

function isEmpty(record: Record<string, string>): boolean {
  for (const _ in record) return false
  return true
}

/** Definitions of many tasks repeat the same script, folder and settings: one copy of each serves all. */
export class Interner {
  private readonly strings = new Map<string, string>()
  private readonly backoffs = new Map<string, BackoffPolicy>()
  /** Profiles by their key; an entry goes once no definition uses its profile. */
  private readonly profiles = new Map<string, WeakRef<Profile>>()
  private readonly unused = new FinalizationRegistry<string>((key) => {
    if (this.profiles.get(key)?.deref() === undefined) this.profiles.delete(key)
  })
  /**
   * The profiles found last, newest first: a big apply or a boot repeats a handful of them, and a
   * field-by-field check against these costs a fifth of building a key (measured on a 100k boot).
   */
  private readonly recent: Profile[] = []

  string(value: string): string
  string(value: string | null): string | null
  string(value: string | null): string | null {
    if (value === null) return null
    const known = this.strings.get(value)
    if (known !== undefined) return known
    this.strings.set(value, value)
    return value
  }

  /** The same definition, its repeated parts shared (the result is read-only). */
  spec(spec: TaskSpec): TaskSpec {
    if (spec instanceof SharedSpec) return spec
    return new SharedSpec(spec.name, spec.at, spec.deadline, spec.digest, this.profile(spec))
  }

  /** The profile of a definition: found by the key of its fields, built only the first time. */
  private profile(spec: TaskSpec): Profile {
    for (const profile of this.recent) if (sameProfile(profile, spec)) return profile
    const key = profileKey(spec)
    const known = this.profiles.get(key)?.deref()
    if (known !== undefined) return this.remember(known)
    const profile: Profile = Object.freeze({
      script: this.string(spec.script),
      args: spec.args.length === 0 ? EMPTY_ARGS : Object.freeze(spec.args.map((a) => this.string(a))) as string[],
      onDeadline: spec.onDeadline,
      preemptible: spec.preemptible,
      missed: spec.missed,
      overlap: spec.overlap,
      manual: spec.manual,
      after: this.names(spec.after),
      nodes: this.names(spec.nodes),
      onSuccess: this.names(spec.onSuccess),
      onFailure: spec.onFailure === null ? null : this.names(spec.onFailure),
      priority: spec.priority,
      front: spec.front,
      retries: spec.retries,
      restart: spec.restart,
      cron: this.string(spec.cron),
      cronTz: this.string(spec.cronTz),
      backoff: spec.backoff === null ? null : this.backoff(spec.backoff),
      timeoutMs: spec.timeoutMs,
      expectMs: spec.expectMs,
      memoryBytes: spec.memoryBytes,
      cwd: this.string(spec.cwd),
      env: isEmpty(spec.env) ? EMPTY_ENV : Object.freeze({ ...spec.env }),
      user: this.string(spec.user),
      envFile: this.string(spec.envFile),
    })
    this.profiles.set(key, new WeakRef(profile))
    this.unused.register(profile, key)
    return this.remember(profile)
  }

  /** A list of task names, shared (most lists are empty). */
  private names(list: readonly string[]): string[] {
    return list.length === 0 ? EMPTY_ARGS : Object.freeze(list.map((n) => this.string(n))) as string[]
  }

  private remember(profile: Profile): Profile {
    this.recent.unshift(profile)
    if (this.recent.length > RECENT_PROFILES) this.recent.pop()
    return profile
  }

  private backoff(policy: BackoffPolicy): BackoffPolicy {
    const key = `${policy.baseMs}/${policy.factor}/${policy.capMs}`
    const known = this.backoffs.get(key)
    if (known !== undefined) return known
    this.backoffs.set(key, policy)
    return policy
  }
}
