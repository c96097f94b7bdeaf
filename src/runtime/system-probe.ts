// Machine samples for admission: system CPU load and available memory, from systeminformation,
// taken on a worker thread so that the daemon's tick never waits for them.
import { Worker } from 'node:worker_threads'
import type { SampleReply } from './probe-worker.js'
import type { SystemProbe } from './ports.js'

export interface ClosableProbe extends SystemProbe {
  close(): Promise<void>
}

export function systemProbe(): ClosableProbe {
  let worker: Worker | null = null
  let nextId = 1
  const waiting = new Map<number, { resolve: (value: Awaited<ReturnType<SystemProbe['sample']>>) => void; reject: (error: Error) => void }>()
  const start = (): Worker => {
    const created = new Worker(new URL('./probe-worker.js', import.meta.url))
    created.unref()
    created.on('message', (reply: SampleReply) => {
      const request = waiting.get(reply.id)
      waiting.delete(reply.id)
      if ('error' in reply) request?.reject(new Error(reply.error))
      else request?.resolve(reply.sample)
    })
    created.on('error', (error) => {
      for (const { reject } of waiting.values()) reject(error)
      waiting.clear()
      worker = null
    })
    return created
  }
  return {
    sample() {
      worker ??= start()
      const id = nextId++
      const target = worker
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        target.postMessage({ id })
      })
    },
    async close() {
      await worker?.terminate()
      worker = null
    },
  }
}
