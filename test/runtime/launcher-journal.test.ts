// The launcher's journal: exits written (a batch in one sync) before anyone is told, kept across a
// restart of the launcher until a daemon acknowledges them; a line torn by a crash is left out.
import assert from 'node:assert/strict'
import { appendFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { LauncherJournal } from '../../src/runtime/launcher-journal.js'
import type { LaunchExit } from '../../src/runtime/launcher-protocol.js'
import { withTempDir } from '../helpers/temp-dir.js'

const exit = (pid: number, code = 0): LaunchExit => ({ task: `t${pid}`, pid, pidStart: `${pid}00`, startedAt: 1000, code, signal: null, endedAt: 2000 })

describe('launcher journal', () => {
  it('keeps a batch of exits, one line each, across a restart, until each is acknowledged', () => withTempDir(async (dir) => {
    const path = join(dir, 'launcher.journal')
    const first = new LauncherJournal(path)
    first.recordExits([exit(11), exit(12, 3), exit(13)])
    assert.equal((await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').length, 3)
    first.acknowledge(12, '1200')
    first.close()
    const second = new LauncherJournal(path)
    assert.deepEqual(second.owed(), [exit(11), exit(13)])
    second.acknowledge(11, '1100')
    second.acknowledge(13, 'another start time')
    second.close()
    assert.deepEqual(new LauncherJournal(path).owed(), [exit(13)], 'an acknowledgement of another run with that pid forgets nothing')
  }))

  it('leaves out a last line torn by a crash: that exit was never told to anyone', () => withTempDir(async (dir) => {
    const path = join(dir, 'launcher.journal')
    const journal = new LauncherJournal(path)
    journal.recordExits([exit(21)])
    journal.close()
    await appendFile(path, '{"exit":{"task":"t22","pid":22,')
    assert.deepEqual(new LauncherJournal(path).owed(), [exit(21)])
  }))

  it('writes nothing for an empty batch', () => withTempDir(async (dir) => {
    const path = join(dir, 'launcher.journal')
    const journal = new LauncherJournal(path)
    journal.recordExits([])
    journal.close()
    assert.equal(await readFile(path, 'utf8'), '')
  }))
})
