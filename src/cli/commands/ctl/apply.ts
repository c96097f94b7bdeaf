// `ctl apply FILE [--prune] [--dry-run]`: add or update every task of an ecosystem file (or say what it would).
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
  dryRun?: boolean
}

/** What an apply would change (`--dry-run`): the daemon's answer. */
export interface ApplyPreview {
  dryRun: true
  added: string[]
  updated: { name: string; fields: string[] }[]
  removed: string[]
}

/** The preview as a person reads it: one line a kind of change, "no change" when there is none. */
export function describePreview(file: string, preview: ApplyPreview): string {
  const lines: string[] = []
  if (preview.added.length > 0) lines.push(`would add (${preview.added.length}): ${preview.added.join(', ')}`)
  if (preview.updated.length > 0) {
    lines.push(`would update (${preview.updated.length}): ${preview.updated.map((u) => `${u.name} (${u.fields.join(', ')})`).join(', ')}`)
  }
  if (preview.removed.length > 0) lines.push(`would remove (${preview.removed.length}): ${preview.removed.join(', ')}`)
  return lines.length === 0 ? `${file}: no change (dry run)` : `${file} (dry run, nothing changed):\n${lines.join('\n')}`
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
export async function applyInParts<R = ApplySummary>(client: Client, tasks: readonly unknown[], options: { prune: boolean; baseDir: string; dryRun?: boolean }): Promise<R> {
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
  const last = client.call<R>('tasks.apply', { tasks: previous ?? [], ...options })
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
      .option('dry-run', { type: 'boolean', describe: 'say what would be added, updated and removed; change nothing' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<ApplyArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const ecosystem = await readEcosystemForApply(argv.file)
      const options = { prune: argv.prune === true, baseDir: ecosystem.baseDir }
      if (argv.dryRun === true) {
        const preview = await applyInParts<ApplyPreview>(client, ecosystem.tasks, { ...options, dryRun: true })
        if (argv.json === true) printJson({ added: preview.added, updated: preview.updated, removed: preview.removed })
        else print(describePreview(argv.file, preview))
        return
      }
      const result = await applyInParts(client, ecosystem.tasks, options)
      if (argv.json === true) printJson(result)
      else print(`applied ${argv.file}: ${result.added} added, ${result.updated} updated, ${result.removed} removed`)
    }),
}
