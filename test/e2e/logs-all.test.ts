// End to end: `ctl logs` with no name prints every task's output, each line prefixed with its task's
// name (stdout to stdout, stderr to stderr), and with --follow picks up what is appended, new tasks too.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { after, describe, it } from 'node:test'
import { CLI, daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { waitFor } from '../helpers/wait.js'

describe('ctl logs of every task', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0'])
  let follower: ChildProcess | null = null
  after(() => {
    if (follower?.exitCode === null) follower.kill('SIGKILL')
  })

  it('prints the last lines of each task, each prefixed with its name, stdout and stderr apart', { timeout: 30_000 }, async () => {
    await suite.daemon.add('a', ['--script', fixture('noisy.sh'), '--', '2'])
    await suite.daemon.add('bb', ['--script', fixture('noisy.sh'), '--', '3'])
    await suite.daemon.waitForType('task.succeeded', 'a')
    await suite.daemon.waitForType('task.succeeded', 'bb')
    const logs = await suite.daemon.ctl(['logs', '--lines', '2'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.equal(logs.stdout, 'a  | line 1\na  | line 2\nbb | line 2\nbb | line 3\n')
    assert.equal(logs.stderr, 'a  | noisy: done\nbb | noisy: done\n')
  })

  it('follows every task, a task added while following included', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [CLI, 'ctl', '--home', suite.daemon.home, 'logs', '--follow', '--lines', '1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    follower = child
    let stdout = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    await waitFor(() => stdout.includes('bb | line 3\n') || null, 'the last lines of the tasks there')
    await suite.daemon.add('late', ['--script', fixture('noisy.sh'), '--', '2'])
    await waitFor(() => stdout.includes('late | line 1\nlate | line 2\n') || null, 'the new task\'s lines, prefixed')
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    await exited
  })
})
