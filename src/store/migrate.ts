// `supervisor migrate`: a LevelDB queue and its history copied into an empty PostgreSQL database, seqs
// and all, so that a user who outgrows one host keeps both. The source is only read.
import { DomainError } from '../core/errors.js'
import { groupKey } from '../core/failures.js'
import { LevelStore } from './level-store.js'
import { PgStore, redact } from './pg-store.js'

export interface MigrationReport {
  tasks: number
  events: number
  tokens: number
  errorGroups: number
  lastSeq: number
}

const PAGE = 5000

export async function migrate(fromDb: string, toUrl: string, log: (line: string) => void = () => undefined): Promise<MigrationReport> {
  const source = await LevelStore.open(fromDb)
  let target: PgStore | null = null
  try {
    target = await PgStore.open(toUrl)
    if (target.lastSeq !== 0 || (await target.loadTasks()).length > 0) {
      throw new DomainError('conflict', `--to: ${redact(toUrl)} already holds a queue; migrate into an empty database`)
    }
    let events = 0
    for (let after = 0; ;) {
      const page = await source.eventsAfter(after, PAGE)
      if (page.length === 0) break
      await target.commit(page, [], [])
      events += page.length
      after = page.at(-1)?.seq ?? after
      log(`events: ${events}`)
    }
    const tasks = await source.loadTasks()
    for (let i = 0; i < tasks.length; i += PAGE) await target.commit([], tasks.slice(i, i + PAGE), [])
    const tokens = await source.tokens()
    for (const token of tokens) await target.putToken(token)
    // The source's counts, which remember failures whose events retention has deleted.
    const groups = await source.errors()
    await target.replaceErrors(new Map(groups.map((g) => [groupKey(g.task, g.cause, g.fingerprint), g])))
    return { tasks: tasks.length, events, tokens: tokens.length, errorGroups: groups.length, lastSeq: target.lastSeq }
  } finally {
    await target?.close()
    await source.close()
  }
}
