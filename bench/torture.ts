// `npm run torture`: 1,000 tasks, the daemon SIGKILLed at 100 random moments; every invariant checked.
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.js'
import { leftovers, torture } from '../test/helpers/torture.js'
import { waitFor } from '../test/helpers/wait.js'
import { parseArgs } from './report.js'

const { quick } = parseArgs()
const dir = await tempDir('supervisor-torture-')
const home = join(dir.path, 'home')
try {
  const started = performance.now()
  const report = await torture({
    home, dir: dir.path, tasks: quick ? 200 : 1000, kills: quick ? 20 : 100, maxLifeMs: 1500, log: (line) => console.log(line),
  })
  await waitFor(() => leftovers(home).length === 0, 'no process left behind', 15_000).catch(() => undefined)
  const stray = leftovers(home)
  console.log(`\n## crash torture: ${report.tasks} tasks, ${report.kills} kill -9, ${report.events} events, ${report.interrupted} runs interrupted, ${((performance.now() - started) / 1000).toFixed(0)} s`)
  for (const problem of report.problems) console.log(`- PROBLEM: ${problem}`)
  if (stray.length > 0) console.log(`- PROBLEM: process groups left behind: ${stray.join(', ')}`)
  const ok = report.problems.length === 0 && stray.length === 0
  console.log(ok ? '- every invariant held' : '- FAILED')
  process.exitCode = ok ? 0 : 1
} finally {
  await dir.remove()
}
