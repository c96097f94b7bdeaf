// A LevelDB folder that cannot be opened is refused with the damaged file named, and left as it was.
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DomainError } from '../../src/core/errors.js'
import { levelMessage } from '../../src/store/open-failure.js'
import { LevelStore } from '../../src/store/level-store.js'
import { addedEvent, sampleTask } from '../helpers/sample-records.js'
import { tempDir } from '../helpers/temp-dir.js'

/** A database holding one task, closed; the body damages it and tries again; the folder is removed after. */
async function withClosedStore(body: (path: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    const path = join(dir.path, 'db')
    const store = await LevelStore.open(path)
    await store.commit([addedEvent(1, 'a')], [sampleTask('a')], [])
    await store.close()
    await body(path)
  } finally {
    await dir.remove()
  }
}

const refusal = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof DomainError, String(error))
  assert.match(error.message, pattern)
  assert.match(error.message, /restore the folder from a backup/)
  return true
}

describe('opening a damaged database', () => {
  it('a garbage MANIFEST is named (LevelDB calls it the descriptor)', () => withClosedStore(async (path) => {
    const manifest = (await readFile(join(path, 'CURRENT'), 'utf8')).trim()
    await writeFile(join(path, manifest), 'garbage garbage garbage')
    await assert.rejects(LevelStore.open(path), refusal(new RegExp(`${join(path, manifest)} is damaged or missing \\(LevelDB: Corruption: .*descriptor`)))
  }))

  it('a CURRENT without its newline is named with what it holds', () => withClosedStore(async (path) => {
    await writeFile(join(path, 'CURRENT'), 'MANIFEST-000002')
    await assert.rejects(LevelStore.open(path), refusal(/CURRENT is damaged: expected the name of a MANIFEST file and a newline, got "MANIFEST-000002" \(LevelDB: Corruption: CURRENT file does not end with newline\)/))
  }))

  it('a folder with no LevelDB files in it is a new database, not a damaged one', async () => {
    const dir = await tempDir()
    try {
      await writeFile(join(dir.path, 'notes.txt'), 'mine')
      const store = await LevelStore.open(dir.path)
      assert.equal(store.lastSeq, 0)
      await store.close()
      assert.ok((await readdir(dir.path)).includes('CURRENT'))
    } finally {
      await dir.remove()
    }
  })

  it('levelMessage takes LevelDB\'s own words from the cause chain', () => {
    const inner = Object.assign(new Error('Corruption: bad block'), { code: 'LEVEL_CORRUPTION' })
    assert.equal(levelMessage(new Error('Database failed to open', { cause: inner })), 'Corruption: bad block')
    assert.equal(levelMessage(new Error('something else')), 'something else')
    assert.equal(levelMessage('not an error'), null)
  })
})
