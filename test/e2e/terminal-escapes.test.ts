// End to end: a task's output cannot drive the terminal of whoever reads it. Text-mode ctl output
// shows control characters (ESC as \x1b); --json output keeps them exact.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, it } from 'node:test'
import { CLI, daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { alive, waitFor } from '../helpers/wait.js'

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
const SHOWN = 'title \\x1b]0;pwned\\x07 clear \\x1b[2J done\n'

describe('terminal escapes in task output', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0'])
  let follower: ChildProcess | null = null
  afterEach(() => {
    if (follower?.pid !== undefined && alive(follower.pid)) process.kill(follower.pid, 'SIGKILL')
    follower = null
  })

  /** Run `ctl ARGS`: exit 0, and no control character but newline and tab on stdout or stderr. */
  async function clean(args: string[]): Promise<{ stdout: string; stderr: string }> {
    const result = await suite.daemon.ctl(args)
    assert.equal(result.code, 0, result.stderr)
    assert.doesNotMatch(result.stdout, CONTROL, `ctl ${args.join(' ')}: stdout ${JSON.stringify(result.stdout)}`)
    assert.doesNotMatch(result.stderr, CONTROL, `ctl ${args.join(' ')}: stderr ${JSON.stringify(result.stderr)}`)
    return result
  }

  it('ctl logs shows the escapes a task printed, on stdout and stderr', { timeout: 30_000 }, async () => {
    // Failing, with an escape in an argument too: history, errors and status have something to show.
    await suite.daemon.add('esc', ['--script', fixture('escapes.sh'), '--retries', '0', '--', '1', '\u001b[2J'])
    await suite.daemon.waitForType('task.failed', 'esc')
    const logs = await clean(['logs', 'esc'])
    assert.equal(logs.stdout, SHOWN)
    assert.equal(logs.stderr, `err ${SHOWN.slice('title '.length)}`)
  })

  it('ctl logs --follow shows them too, in what it prints first and what is appended', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [CLI, 'ctl', '--home', suite.daemon.home, 'logs', 'esc', '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] })
    follower = child
    let stdout = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    await waitFor(() => stdout === SHOWN, 'the first run\'s line')
    const lastSeq = suite.daemon.events.at(-1)?.seq ?? 0
    assert.equal((await suite.daemon.ctl(['run', 'esc'])).code, 0)
    await suite.daemon.waitForType('task.failed', 'esc', (e) => e.seq > lastSeq)
    await waitFor(() => stdout === SHOWN + SHOWN, 'the second run\'s line')
    assert.doesNotMatch(stdout, CONTROL)
  })

  it('ctl history, errors and status show them in text mode and keep them exact with --json', { timeout: 30_000 }, async () => {
    const history = await clean(['history', 'esc'])
    assert.match(history.stdout, /stderr=err \\x1b\]0;pwned\\x07/)
    const errors = await clean(['errors'])
    assert.match(errors.stdout, /err \\x1b\]0;pwned\\x07 clear \\x1b\[2J done/)
    const status = await clean(['status', 'esc'])
    // Shown quoted, as a shell would need the argument, and its ESC made visible.
    assert.match(status.stdout, /escapes\.sh 1 '\\x1b\[2J'/)

    const events = await suite.daemon.ctlJson<{ type: string; stderr?: string }[]>(['history', 'esc', '--json'])
    assert.ok(events.some((e) => e.stderr?.includes('\u001b]0;pwned\u0007') === true), 'history --json keeps the ESC and BEL')
    const groups = await suite.daemon.ctlJson<{ stderr: string }[]>(['errors', '--json'])
    assert.ok(groups.some((g) => g.stderr.includes('\u001b[2J')), 'errors --json keeps the ESC')
  })
})
