// Shared bench plumbing: flags, heap readings, and one table format for every figure and its ratio.
export interface Row {
  what: string
  value: number
  unit: string
  /** A limit to compare with: the ratio value/target is printed (<= 1 meets a "lower is better" target). */
  target?: number | undefined
  /** Higher is better for this target (throughput): the ratio printed is target/value. */
  higherIsBetter?: boolean
  extra?: string | undefined
}

export function parseArgs(): { quick: boolean } {
  return { quick: process.argv.includes('--quick') || process.env['BENCH_QUICK'] === '1' }
}

export function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

export function report(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`)
  for (const row of rows) {
    const value = row.value >= 100 ? row.value.toFixed(0) : row.value.toFixed(2)
    let verdict = ''
    if (row.target !== undefined) {
      const ratio = row.higherIsBetter === true ? row.target / row.value : row.value / row.target
      verdict = ` | target ${row.target} ${row.unit}: ratio ${ratio.toFixed(2)} ${ratio <= 1 ? 'MET' : 'MISSED'}`
    }
    console.log(`- ${row.what}: ${value} ${row.unit}${verdict}${row.extra === undefined ? '' : ` (${row.extra})`}`)
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}
