// End to end: a ctl whose reader stops early (`ctl list | head -1`) ends quietly, not with a stack trace.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CLI, daemonForSuite, fixture } from '../helpers/daemon-process.js'

/** `ctl ARGS | head -1` in a real shell pipe: what ctl wrote to stderr, and its exit status. */
function throughHead(home: string, args: string[]): Promise<{ status: number; stderr: string; first: string }> {
  return new Promise((resolve, reject) => {
    const line = `"$0" "$1" ctl --home "$2" ${args.join(' ')} 2>"$2/ctl.err" | head -1; echo "\${PIPESTATUS[0]}" > "$2/ctl.status"`
    const child = spawn('bash', ['-c', line, process.execPath, CLI, home], { stdio: ['ignore', 'pipe', 'inherit'] })
    let first = ''
    child.stdout.on('data', (d: Buffer) => (first += d.toString()))
    child.on('error', reject)
    child.on('close', async () => {
      const [status, stderr] = await Promise.all([readFile(join(home, 'ctl.status'), 'utf8'), readFile(join(home, 'ctl.err'), 'utf8')])
      resolve({ status: Number(status.trim()), stderr, first })
    })
  })
}

describe('quiet pipes', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0'])

  it('ctl list and ctl history into a reader that closes early: no stack trace, the shell\'s SIGPIPE status', { timeout: 60_000 }, async () => {
    // Far more than a pipe holds (64 KB), so that ctl is still writing when the reader goes.
    const file = join(suite.work, 'many.json')
    const tasks = Array.from({ length: 3000 }, (_, i) => ({ name: `many-${i}`, script: fixture('ok.sh'), at: '+1h' }))
    await writeFile(file, JSON.stringify({ tasks }))
    assert.equal((await suite.daemon.ctl(['apply', file])).code, 0)
    for (const args of [['list'], ['history', '--limit', '5000'], ['list', '--json']]) {
      const result = await throughHead(suite.daemon.home, args)
      assert.equal(result.first.split('\n').length, 2, `ctl ${args.join(' ')} printed its first line through head`)
      assert.equal(result.stderr, '', `ctl ${args.join(' ')} said nothing on stderr`)
      assert.equal(result.status, 141, `ctl ${args.join(' ')} ended with 128 + SIGPIPE`)
    }
  })
})
