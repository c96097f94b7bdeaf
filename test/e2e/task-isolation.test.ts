// End to end: what a run gets from the daemon. No descriptor of the daemon's (its database above all),
// and for a run as another user, none of the daemon's environment or working folder either.
import assert from 'node:assert/strict'
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']
const asRoot = process.getuid?.() === 0

interface RunView {
  /** Each descriptor above stdio, with what it points at. */
  fds: Map<number, string>
  cwd: string
  env: Set<string>
}

/** Parse what fixtures/fds.sh printed. */
function parse(text: string): RunView {
  const fds = new Map<number, string>()
  const env = new Set<string>()
  let cwd = ''
  for (const line of text.split('\n')) {
    const fd = /\s(\d+) -> (.*)$/.exec(line)
    if (line.startsWith('l') && fd !== null && Number(fd[1]) > 2) fds.set(Number(fd[1]), fd[2] ?? '')
    if (line.startsWith('cwd -> ')) cwd = line.slice('cwd -> '.length)
    if (line.startsWith('env ')) env.add(line.slice('env '.length))
  }
  return { fds, cwd, env }
}

describe('what a run inherits from the daemon', () => {
  // Set before the daemon starts, so the daemon's own environment holds it.
  process.env['SUPERVISOR_TEST_SECRET'] = 'hunter2'
  const suite = daemonForSuite(FLAGS)

  /** Copy a fixture where any user can run it (temp folders are private to their creator). */
  async function reachable(name: string): Promise<string> {
    await chmod(suite.work, 0o755)
    const script = join(suite.work, name)
    await copyFile(fixture(name), script)
    await chmod(script, 0o755)
    return script
  }

  async function runOnce(name: string, args: string[]): Promise<RunView> {
    await suite.daemon.add(name, args)
    await suite.daemon.waitForType('task.succeeded', name)
    const out = await readFile(join(suite.daemon.home, 'logs', `${name}.out.log`), 'utf8')
    return parse(out)
  }

  /** The only descriptor a shell running a script may hold above stdio is the script itself. */
  function assertOnlyScript(view: RunView, script: string): void {
    for (const [fd, target] of view.fds) {
      assert.equal(target, script, `fd ${fd} -> ${target} was inherited from the daemon`)
    }
    assert.ok(![...view.fds.values()].some((t) => t.startsWith(suite.daemon.home)), 'nothing of the home is open')
  }

  it('a run as the daemon\'s own user holds no descriptor of the daemon (no database file)', { timeout: 30_000 }, async () => {
    const script = await reachable('fds.sh')
    const view = await runOnce('fds-own', ['--script', script])
    assert.ok(view.fds.size >= 1, 'the listing was read')
    assertOnlyScript(view, script)
    assert.ok(view.env.has('SUPERVISOR_TEST_SECRET'), 'a run as the daemon\'s user keeps its environment, as before')
  })

  it('a run as --user nobody holds no descriptor of the daemon, gets a clean environment and its own folder', { timeout: 30_000 }, async (t) => {
    if (!asRoot) return t.skip('the daemon is not root')
    const script = await reachable('fds.sh')
    const view = await runOnce('fds-nobody', ['--script', script, '--user', 'nobody', '--env', 'MINE=1'])
    assertOnlyScript(view, script)
    assert.ok(!view.env.has('SUPERVISOR_TEST_SECRET'), 'the daemon\'s environment stays with the daemon')
    const expected = ['HOME', 'LOGNAME', 'MINE', 'PATH', 'SUPERVISOR_HOME', 'SUPERVISOR_TASK', 'USER']
    for (const name of expected) assert.ok(view.env.has(name), `${name} is set`)
    // Beside those: the shell's own PWD, and LANG when the daemon has one.
    const extra = [...view.env].filter((name) => !expected.includes(name) && name !== 'PWD' && name !== 'LANG')
    assert.deepEqual(extra, [], 'nothing else reaches the run')
    assert.notEqual(view.cwd, process.cwd(), 'not the daemon\'s working folder')
  })

  it('finds setpriv by its absolute path, never through the task\'s own PATH', { timeout: 30_000 }, async (t) => {
    if (!asRoot) return t.skip('the daemon is not root')
    const bin = join(suite.work, 'evil-bin')
    const marker = join(suite.work, 'evil-ran')
    await mkdir(bin, { recursive: true })
    await writeFile(join(bin, 'setpriv'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 })
    const script = await reachable('whoami.sh')
    await suite.daemon.add('path-trap', ['--script', script, '--user', 'nobody', '--env', `PATH=${bin}:/usr/bin:/bin`])
    await suite.daemon.waitForType('task.succeeded', 'path-trap')
    assert.equal(await readFile(join(suite.daemon.home, 'logs', 'path-trap.out.log'), 'utf8'), 'nobody\n')
    await assert.rejects(readFile(marker), 'the task\'s own setpriv never ran')
  })

  it('never gives the task\'s environment to a process that runs as root (LD_PRELOAD into setpriv)', { timeout: 60_000 }, async (t) => {
    if (!asRoot) return t.skip('the daemon is not root')
    if (spawnSync('cc', ['--version']).status !== 0) return t.skip('no C compiler to build the library')
    // A library that, loaded into a process running as root, leaves a mark: what an attacker's would do.
    const source = join(suite.work, 'evil.c')
    const library = join(suite.work, 'evil.so')
    const marker = join(suite.work, 'evil-as-root')
    await writeFile(source, `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void evil(void) {\n  if (geteuid() == 0) close(open("${marker}", O_CREAT | O_WRONLY, 0644));\n}\n`)
    const built = spawnSync('cc', ['-shared', '-fPIC', '-o', library, source], { encoding: 'utf8' })
    assert.equal(built.status, 0, built.stderr)
    await chmod(library, 0o755)
    const script = await reachable('whoami.sh')
    await suite.daemon.add('preload', ['--script', script, '--user', 'nobody', '--env', `LD_PRELOAD=${library}`])
    await suite.daemon.waitForType('task.succeeded', 'preload')
    assert.equal(await readFile(join(suite.daemon.home, 'logs', 'preload.out.log'), 'utf8'), 'nobody\n')
    await assert.rejects(readFile(marker), 'the library was never loaded into a root process')
  })
})
