// A MemoryStore whose writes fail on demand, as a full disk makes them fail: nothing of a failed commit is kept.
import type { TaskEvent } from '../../src/core/types.js'
import type { StoredTask } from '../../src/store/store.js'
import { MemoryStore } from './memory-store.js'

export class FailingStore extends MemoryStore {
  /** Every commit fails while this is true. */
  failing = false
  /** The next this many commits fail (then it clears itself). */
  failNext = 0
  /** Commits that fail whenever this says so (called with the events of each attempt). */
  failWhen: (events: readonly TaskEvent[]) => boolean = () => false
  /** Every commit attempt, failed or not: the event types and seqs it carried. */
  readonly attempts: { ok: boolean; events: { type: string; task: string; seq: number }[] }[] = []

  override async commit(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void> {
    const fail = this.failing || this.failNext > 0 || this.failWhen(events)
    this.attempts.push({ ok: !fail, events: events.map((e) => ({ type: e.type, task: e.task, seq: e.seq })) })
    if (fail) {
      if (this.failNext > 0) this.failNext -= 1
      throw Object.assign(new Error('IO error: 000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
    }
    return super.commit(events, tasks, removed)
  }
}
