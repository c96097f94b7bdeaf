// Writing ecosystem files of many tasks for the benchmarks.
import { writeFile } from 'node:fs/promises'
import { fixture } from '../test/helpers/daemon-process.js'

export async function writeTasks(file: string, count: number, prefix: string, at = '+1d'): Promise<void> {
  const tasks = Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, script: fixture('ok.sh'), at, priority: (['high', 'medium', 'low'] as const)[i % 3] }))
  await writeFile(file, JSON.stringify({ tasks }))
}
