// Keeping 100k definitions small in memory: equal strings, empty lists and option objects shared.
import type { BackoffPolicy, TaskSpec } from './types.js'

const EMPTY_ARGS: string[] = Object.freeze([]) as unknown as string[]
const EMPTY_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>

/** Definitions of many tasks repeat the same script, folder and settings: one copy of each serves all. */
export class Interner {
  private readonly strings = new Map<string, string>()
  private readonly backoffs = new Map<string, BackoffPolicy>()

  string(value: string): string
  string(value: string | null): string | null
  string(value: string | null): string | null {
    if (value === null) return null
    const known = this.strings.get(value)
    if (known !== undefined) return known
    this.strings.set(value, value)
    return value
  }

  /** The same definition, its repeated parts shared (the result must be treated as read-only). */
  spec(spec: TaskSpec): TaskSpec {
    return {
      ...spec,
      script: this.string(spec.script),
      args: spec.args.length === 0 ? EMPTY_ARGS : spec.args.map((a) => this.string(a)),
      cwd: this.string(spec.cwd),
      env: Object.keys(spec.env).length === 0 ? EMPTY_ENV : spec.env,
      user: this.string(spec.user),
      cron: this.string(spec.cron),
      cronTz: this.string(spec.cronTz),
      backoff: spec.backoff === null ? null : this.backoff(spec.backoff),
    }
  }

  private backoff(policy: BackoffPolicy): BackoffPolicy {
    const key = `${policy.baseMs}/${policy.factor}/${policy.capMs}`
    const known = this.backoffs.get(key)
    if (known !== undefined) return known
    this.backoffs.set(key, policy)
    return policy
  }
}
