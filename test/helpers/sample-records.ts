// Small valid task records and events for store tests.
import type { TaskEvent, TaskSpec } from '../../src/core/types.js'
import type { StoredTask } from '../../src/store/store.js'

export function sampleSpec(name: string, overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name, script: '/bin/true', args: [], at: Date.UTC(2026, 10, 27), deadline: null, onDeadline: 'run', missed: 'once', overlap: 'skip', preemptible: false, manual: false, after: [], nodes: [], onSuccess: [], onFailure: null, priority: 'medium', front: false,
    retries: 3, restart: 'on-failure', cron: null, cronTz: null, backoff: null, timeoutMs: null, expectMs: null, memoryBytes: null, cwd: null, env: {}, envFile: null, user: null,
    digest: `digest-${name}`, ...overrides,
  }
}

export function sampleTask(name: string, overrides: Partial<StoredTask> = {}): StoredTask {
  const spec = sampleSpec(name)
  return {
    spec, state: 'scheduled', priority: spec.priority, bumped: false, consecutiveFailures: 0, retryStep: 0, attempts: 0,
    dueAt: spec.at, queuedSeq: 1, lastExitCode: null, lastOutcome: null, pid: null, pidStart: null, rearm: false, runStartedAt: null, peakMemory: null,
    stopping: null, durations: [], missed: false, atRisk: false, slotAt: null, slotQueued: null, cycleSince: 0, lastSuccessAt: 0, awaiting: false, trigger: null, node: null, claimed: false, ...overrides,
  }
}

export function addedEvent(seq: number, name: string): TaskEvent {
  return { seq, time: new Date(Date.UTC(2026, 10, 27) + seq).toISOString(), type: 'task.added', task: name, spec: sampleSpec(name) }
}

export function dueEvent(seq: number, name: string): TaskEvent {
  return { seq, time: new Date(Date.UTC(2026, 10, 27) + seq).toISOString(), type: 'task.due', task: name, reason: 'date' }
}
