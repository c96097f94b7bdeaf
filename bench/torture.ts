// `npm run torture [-- --quick] [-- --launcher]`: 1,000 tasks, the daemon SIGKILLed at 100 random
// moments; every invariant checked. Its launcher lives on, so no run may be interrupted; with
// --launcher, the launcher is killed with it each time and the at-least-once path is tortured instead.
// `-- --cluster`: three nodes on one PostgreSQL queue, 40 node crashes and losses (cluster-torture.ts).
import { join } from 'node:path'
import { clusterTorture } from '../test/helpers/cluster-torture.js'
import { pgMissing, startPostgres } from '../test/helpers/postgres.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { leftovers, torture } from '../test/helpers/torture.js'
import { waitFor } from '../test/helpers/wait.js'
import { parseArgs } from './report.js'

const { quick } = parseArgs()
const withLauncher = process.argv.includes('--launcher')
if (process.argv.includes('--cluster')) {
  if (pgMissing !== false) {
    console.log(`cluster torture skipped: ${pgMissing}`)
    process.exit(0)
  }
  const server = await startPostgres()
  const dir = await tempDir('supervisor-torture-')
  try {
    const started = performance.now()
    const report = await clusterTorture({
      url: await server.createDatabase(), dir: dir.path, tasks: quick ? 200 : 1000, kills: quick ? 10 : 40, maxPauseMs: 2000, log: (line) => console.log(line),
    })
    console.log(`\n## cluster torture: ${report.tasks} tasks, 3 nodes, ${report.restarts} daemon crashes, ${report.losses} node losses, ${report.events} events, ${report.interrupted} runs interrupted, runs by node ${JSON.stringify(report.byNode)}, ${((performance.now() - started) / 1000).toFixed(0)} s`)
    for (const problem of report.problems) console.log(`- PROBLEM: ${problem}`)
    console.log(report.problems.length === 0 ? '- every invariant held' : '- FAILED')
    process.exitCode = report.problems.length === 0 ? 0 : 1
  } finally {
    await dir.remove()
    await server.stop()
  }
  process.exit()
}
const dir = await tempDir('supervisor-torture-')
const home = join(dir.path, 'home')
try {
  const started = performance.now()
  const report = await torture({
    home, dir: dir.path, tasks: quick ? 200 : 1000, kills: quick ? 20 : 100, maxLifeMs: 1500, log: (line) => console.log(line),
    killLauncher: withLauncher,
  })
  await waitFor(() => leftovers(home).length === 0, 'no process left behind', 15_000).catch(() => undefined)
  const stray = leftovers(home)
  const what = withLauncher ? 'kill -9 of the daemon and its launcher' : 'kill -9 of the daemon'
  console.log(`\n## crash torture: ${report.tasks} tasks, ${report.kills} ${what}, ${report.events} events, ${report.interrupted} runs interrupted, ${((performance.now() - started) / 1000).toFixed(0)} s`)
  // With the launcher alive, every run is re-adopted or its exit journaled: none may be cut off.
  if (!withLauncher && report.interrupted > 0) report.problems.push(`${report.interrupted} runs interrupted while their launcher lived`)
  for (const problem of report.problems) console.log(`- PROBLEM: ${problem}`)
  if (stray.length > 0) console.log(`- PROBLEM: process groups left behind: ${stray.join(', ')}`)
  const ok = report.problems.length === 0 && stray.length === 0
  console.log(ok ? '- every invariant held' : '- FAILED')
  process.exitCode = ok ? 0 : 1
} finally {
  await dir.remove()
}
