// A damaged database stops `supervisor daemon` with exit 1, naming the file and what to do; it changes nothing.
import assert from 'node:assert/strict'
import { readdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DaemonProcess, fixture, runCliWithin } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'

/** A home whose database holds one task, its daemon stopped; removed after `body`. */
async function withStoppedHome(body: (home: string, db: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    const daemon = await DaemonProcess.start(dir.path, [], { follow: false })
    try {
      await daemon.add('kept', ['--script', fixture('ok.sh'), '--at', '+1d'])
    } finally {
      await daemon.cleanup()
    }
    await body(dir.path, join(dir.path, 'db'))
  } finally {
    await dir.remove()
  }
}

/** `supervisor daemon` on `home`: it must refuse (exit 1) and say why on stderr, not start. */
async function refusedStart(home: string): Promise<string> {
  const result = await runCliWithin(['daemon', '--home', home, '--port', '0'], 15_000)
  assert.equal(result.timedOut, false, `the daemon started anyway: ${result.stdout}`)
  assert.doesNotMatch(result.stdout, /listening/)
  assert.equal(result.code, 1, result.stderr)
  return result.stderr
}

/** The database folder's files with their contents, to show that a refused start changed nothing. */
async function snapshot(db: string): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  // LOG is LevelDB's own diary of the attempt; LOCK is empty.
  for (const name of (await readdir(db)).filter((n) => !n.startsWith('LOG'))) files.set(name, await readFile(join(db, name), 'latin1'))
  return files
}

describe('a damaged database', () => {
  it('a garbage CURRENT: exit 1 naming the file, what it holds, and the way out', { timeout: 60_000 }, () => withStoppedHome(async (home, db) => {
    await writeFile(join(db, 'CURRENT'), 'garbage\n')
    const before = await snapshot(db)
    const stderr = await refusedStart(home)
    assert.match(stderr, new RegExp(`^error: database ${db} cannot be opened: ${join(db, 'CURRENT')} is damaged: expected the name of a MANIFEST file and a newline, got "garbage\\\\n"`))
    assert.match(stderr, /restore the folder from a backup/)
    assert.doesNotMatch(stderr, /delete|remove/i, 'no advice to throw data away')
    assert.deepEqual(await snapshot(db), before)
  }))

  it('a missing MANIFEST: exit 1 naming that manifest', { timeout: 60_000 }, () => withStoppedHome(async (home, db) => {
    const manifest = (await readFile(join(db, 'CURRENT'), 'utf8')).trim()
    await unlink(join(db, manifest))
    const stderr = await refusedStart(home)
    assert.match(stderr, new RegExp(`^error: database ${db} cannot be opened: ${join(db, manifest)}, which CURRENT names, is missing`))
    assert.match(stderr, /LevelDB: IO error: .*No such file or directory/)
    assert.match(stderr, /restore the folder from a backup/)
  }))

  it('a missing CURRENT beside LevelDB files: exit 1 naming it, and the files are left as they were', { timeout: 60_000 }, () => withStoppedHome(async (home, db) => {
    await unlink(join(db, 'CURRENT'))
    const before = await snapshot(db)
    const stderr = await refusedStart(home)
    assert.match(stderr, new RegExp(`^error: database ${db} cannot be opened: ${join(db, 'CURRENT')} is missing, though the folder holds LevelDB files \\(.*MANIFEST-\\d+`))
    // LevelDB alone would have made a new, empty database over the old one.
    assert.deepEqual(await snapshot(db), before)
  }))

  it('a second daemon on a healthy home still says another one is already running', { timeout: 60_000 }, async () => {
    const dir = await tempDir()
    const daemon = await DaemonProcess.start(dir.path, [], { follow: false })
    try {
      const stderr = await refusedStart(dir.path)
      assert.match(stderr, new RegExp(`^error: another daemon is already running on ${join(dir.path, 'db')}`))
    } finally {
      await daemon.cleanup()
      await dir.remove()
    }
  })
})
