// End to end: a stop or a remove that lands while the launcher is starting the run is not lost: the
// run is recorded and ended at once, never left running unsupervised or marked running when stopped.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Client } from '../../src/cli/client.js'
import type { TaskView } from '../../src/core/view.js'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { alive, waitFor } from '../helpers/wait.js'

const PAIRS = 40

describe('a stop or remove during a start', () => {
  const suite = daemonForSuite(['--max-concurrent', '50', '--min-free-memory', '0'])

  it(`is never lost: ${PAIRS} adds each followed at once by a stop or a remove leave nothing running`, { timeout: 60_000 }, async () => {
    const client = await Client.connect(join(suite.daemon.home, 'supervisor.sock'))
    try {
      for (let i = 0; i < PAIRS; i += 1) {
        const name = `race-${i}`
        await client.call('tasks.add', { name, script: fixture('sleep.sh'), args: ['30'] })
        // A few ms apart, as a user scripting it would: often while the launcher is starting the run.
        await new Promise((resolve) => setTimeout(resolve, i % 5))
        await client.call(i % 2 === 0 ? 'tasks.stop' : 'tasks.remove', { name }).catch(() => undefined)
      }
    } finally {
      client.close()
    }
    const tasks = await waitFor(async () => {
      const list = await suite.daemon.ctlJson<TaskView[]>(['list'])
      return list.every((t) => t.state !== 'running' && t.state !== 'ready') ? list : null
    }, 'every task to settle', 20_000)
    for (const task of tasks) assert.equal(task.state, 'stopped', `${task.name} is ${task.state}`)
    assert.equal(tasks.length, PAIRS / 2, 'the removed ones are gone')
    const started = suite.daemon.eventsOf('run.started')
    for (const run of started) await waitFor(() => !alive(run.pid), `run ${run.pid} of ${run.task} to be ended`, 10_000)
    for (const run of started) {
      assert.ok(suite.daemon.eventsOf('run.exited', run.task).some((e) => e.pid === run.pid), `the run of ${run.task} has its end recorded`)
    }
  })
})
