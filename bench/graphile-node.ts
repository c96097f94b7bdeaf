// One graphile-worker "node" for bench/cluster.ts: a runner on the given database whose one task runs
// the same one-shot script as the supervisor's benchmark, as a child process. It runs until its
// stdin closes. Usage: node graphile-node.js URL CONCURRENCY SCRIPT
import { spawn } from 'node:child_process'
import { Logger, run } from 'graphile-worker'

const [url, concurrency, script] = process.argv.slice(2) as [string, string, string]

const runner = await run({
  connectionString: url,
  concurrency: Number(concurrency),
  noHandleSignals: true,
  // New jobs are announced by LISTEN/NOTIFY; the poll is its fallback (graphile-worker's default 2 s).
  pollInterval: 2000,
  logger: new Logger(() => () => undefined),
  taskList: {
    job: () => new Promise<void>((resolve, reject) => {
      const child = spawn(script, [], { stdio: 'ignore' })
      child.once('error', reject)
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))))
    }),
  },
})
process.stdout.write('ready\n')
process.stdin.resume()
process.stdin.once('end', () => void runner.stop().then(() => process.exit(0)))
