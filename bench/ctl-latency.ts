// ctl commands, wall time from process start to exit, on a daemon with a few tasks.
import { join } from 'node:path'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { parseArgs, percentile, report, type Row } from './report.js'

const { quick } = parseArgs()
const RUNS = quick ? 5 : 15

async function timed(args: string[]): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now()
    const result = await runCli(args)
    times.push(performance.now() - start)
    if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`)
  }
  return times
}

const dir = await tempDir('supervisor-bench-')
const daemon = await DaemonProcess.start(join(dir.path, 'home'))
try {
  for (let i = 0; i < 10; i += 1) await daemon.ctl(['add', `t${i}`, '--script', fixture('ok.sh'), '--at', '+1d'])
  const bare = await timed(['--version'])
  const rows: Row[] = [{ what: 'supervisor --version (node start + CLI parse, no daemon)', value: percentile(bare, 50), unit: 'ms' }]
  for (const verb of [['list'], ['status', 't1'], ['history', '--limit', '20']]) {
    const times = await timed(['ctl', '--home', daemon.home, ...verb])
    rows.push({ what: `ctl ${verb.join(' ')} (median of ${RUNS})`, value: percentile(times, 50), unit: 'ms', target: 150, extra: 'pm2 jlist: 245-300 ms' })
  }
  report('ctl latency', rows)
} finally {
  await daemon.cleanup()
  await dir.remove()
}
