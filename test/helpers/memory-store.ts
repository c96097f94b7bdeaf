// An in-memory Store: the fake for runtime tests, and the second implementation the store contract checks.
import type { TaskEvent } from '../../src/core/types.js'
import type { HistoryQuery, Store, StoredTask, TokenRecord } from '../../src/store/store.js'
import { countFailure, type ErrorGroup } from '../../src/core/failures.js'

export class MemoryStore implements Store {
  readonly events: TaskEvent[] = []
  readonly tasks = new Map<string, StoredTask>()
  readonly errorGroups = new Map<string, ErrorGroup>()
  readonly tokenRecords = new Map<string, TokenRecord>()
  closed = false

  private seq = 0

  get lastSeq(): number {
    return this.seq
  }

  async loadTasks(): Promise<StoredTask[]> {
    return [...this.tasks.values()].map((t) => asStored(t))
  }

  async forEachTask(visit: (task: StoredTask) => void): Promise<void> {
    for (const task of await this.loadTasks()) visit(task)
  }

  async commit(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void> {
    const copies = asStored({ events, tasks })
    this.events.push(...copies.events)
    this.seq = Math.max(this.seq, ...copies.events.map((e) => e.seq))
    for (const event of copies.events) countFailure(this.errorGroups, event)
    for (const task of copies.tasks) this.tasks.set(task.spec.name, task)
    for (const name of removed) this.tasks.delete(name)
  }

  async history(query: HistoryQuery): Promise<TaskEvent[]> {
    const matching = query.task === undefined ? this.events : this.events.filter((e) => e.task === query.task)
    return matching.slice(-query.limit)
  }

  async eventsAfter(after: number, limit: number): Promise<TaskEvent[]> {
    return this.events.filter((e) => e.seq > after).slice(0, limit)
  }

  async firstSeq(): Promise<number> {
    return this.events[0]?.seq ?? this.lastSeq + 1
  }

  async compact(keep: number, chunk: number): Promise<number> {
    const excess = Math.min(chunk, this.events.length - keep)
    if (excess <= 0) return 0
    this.events.splice(0, excess)
    return excess
  }

  async errors(): Promise<ErrorGroup[]> {
    return [...this.errorGroups.values()].map((g) => ({ ...g }))
  }

  async tokens(): Promise<TokenRecord[]> {
    return [...this.tokenRecords.values()].map((t) => ({ ...t }))
  }

  async putToken(token: TokenRecord): Promise<void> {
    this.tokenRecords.set(token.id, { ...token })
  }

  async deleteToken(id: string): Promise<boolean> {
    return this.tokenRecords.delete(id)
  }

  private readonly values = new Map<string, string>()

  async getValue(key: string): Promise<unknown> {
    const text = this.values.get(key)
    return text === undefined ? null : JSON.parse(text)
  }

  async putValue(key: string, value: unknown): Promise<void> {
    this.values.set(key, JSON.stringify(value))
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

/** A copy as a store keeps it: JSON text, which is also what a shared definition turns into. */
function asStored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
