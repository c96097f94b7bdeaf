// `ctl apply FILE [--prune]`: add or update every task of an ecosystem file.
import type { Argv, CommandModule } from 'yargs'
import { readEcosystemForApply } from '../../../config/ecosystem-file.js'
import type { Client } from '../../client.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'

export interface ApplySummary {
  added: number
  updated: number
  removed: number
}

interface ApplyArgs extends CtlArgs {
  file: string
  prune?: boolean
}

/** Parts of at most ~512 KB of JSON each, so a file of any size fits the WebSocket frame limit. */
export function* inParts<T>(tasks: readonly T[], maxBytes = 512 * 1024): Generator<T[]> {
  let part: T[] = []
  let size = 0
  for (const task of tasks) {
    const bytes = JSON.stringify(task).length + 1
    if (size + bytes > maxBytes && part.length > 0) {
      yield part
      part = []
      size = 0
    }
    part.push(task)
    size += bytes
  }
  yield part
}

/** Parts sent and not answered yet, at most: 4 MB the daemon holds for this apply before handling it. */
const IN_FLIGHT = 8

/**
 * One apply of any size: each part is sent as soon as it is cut, with up to IN_FLIGHT parts
 * unanswered, so the daemon validates a part while the next is on its way. The last part's answer is
 * the apply's; a refused part voids the whole apply (the daemon refuses every part after it).
 */
export async function applyInParts(client: Client, tasks: readonly unknown[], options: { prune: boolean; baseDir: string }): Promise<ApplySummary> {
  const answers: Promise<unknown>[] = []
  let previous: unknown[] | null = null
  for (const part of inParts(tasks)) {
    if (previous !== null) {
      if (answers.length >= IN_FLIGHT) await answers[answers.length - IN_FLIGHT]?.catch(() => undefined)
      const answer = client.call('tasks.apply', { tasks: previous, more: true, baseDir: options.baseDir })
      // A refusal may come back while later parts are still being cut: handled below, not unhandled.
      answer.catch(() => undefined)
      answers.push(answer)
      // Let the socket write it out before cutting the next part.
      await new Promise((resolve) => setImmediate(resolve))
    }
    previous = part
  }
  const last = client.call<ApplySummary>('tasks.apply', { tasks: previous ?? [], ...options })
  const results = await Promise.allSettled([...answers, last])
  const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (refused !== undefined) throw refused.reason
  return last
}

export const applyCommand: CommandModule<CtlArgs, ApplyArgs> = {
  command: 'apply <file>',
  describe: 'add or update every task of an ecosystem file',
  builder: (y: Argv<CtlArgs>) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('prune', { type: 'boolean', describe: 'remove tasks that are not in the file' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<ApplyArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const ecosystem = await readEcosystemForApply(argv.file)
      const result = await applyInParts(client, ecosystem.tasks, { prune: argv.prune === true, baseDir: ecosystem.baseDir })
      if (argv.json === true) printJson(result)
      else print(`applied ${argv.file}: ${result.added} added, ${result.updated} updated, ${result.removed} removed`)
    }),
}
