// A child process that commits batches as fast as it can, printing a line after each: killed mid-write by a test.
import { LevelStore } from '../../src/store/level-store.js'
import { dueEvent, sampleTask } from './sample-records.js'

const store = await LevelStore.open(process.argv[2] as string)
for (let seq = store.lastSeq + 1; ; seq += 1) {
  const name = `task-${seq % 7}`
  await store.commit([dueEvent(seq, name)], [sampleTask(name, { queuedSeq: seq })], [])
  process.stdout.write(`${seq}\n`)
}
