// The sampling thread: systeminformation's CPU sample runs `cat /proc/stat` synchronously on Linux,
// which would stall the daemon's tick for milliseconds; here it stalls only this thread.
import { parentPort } from 'node:worker_threads'
import si from 'systeminformation'

export interface SampleRequest {
  id: number
}

export type SampleReply =
  | { id: number; sample: { cpuPercent: number; freeBytes: number; totalBytes: number } }
  | { id: number; error: string }

parentPort?.on('message', (request: SampleRequest) => {
  Promise.all([si.currentLoad(), si.mem()]).then(
    ([load, mem]) => parentPort?.postMessage({ id: request.id, sample: { cpuPercent: load.currentLoad, freeBytes: mem.available, totalBytes: mem.total } }),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: String(error) }),
  )
})
