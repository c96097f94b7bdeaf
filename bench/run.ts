// `npm run bench [-- --quick]`: every benchmark in turn, each in its own process, printing its figures.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const scripts = ['core', 'enqueue', 'dispatch', 'lateness', 'metrics', 'stores', 'cluster', 'footprint', 'cold-start', 'readopt', 'ctl-latency', 'soak', 'anchors']
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const quick = process.argv.includes('--quick') ? ['--quick'] : []
console.log(`# supervisor benchmarks${quick.length > 0 ? ' (quick)' : ''}: ${new Date().toISOString()}, node ${process.version}`)
let failed = 0
for (const name of scripts.filter((s) => only.length === 0 || only.includes(s))) {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url))
  const result = spawnSync(process.execPath, ['--expose-gc', file, ...quick], { stdio: 'inherit' })
  if (result.status !== 0) {
    failed += 1
    console.log(`(${name} failed with exit code ${result.status})`)
  }
}
process.exit(failed > 0 ? 1 : 0)
