// The ecosystem file's JSON Schema, generated from the very schema the daemon validates with.
import { writeFileSync } from 'node:fs'
import { z } from 'zod'
import { ecosystemSchema } from './ecosystem.js'

export function ecosystemJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ecosystemSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'supervisor ecosystem file',
    description: 'Daemon settings under "supervisor", tasks under "tasks". See the README.',
  }
}

export function renderSchema(): string {
  return `${JSON.stringify(ecosystemJsonSchema(), null, 2)}\n`
}

// `node dist/src/config/json-schema.js FILE` writes it (the build does, to ecosystem.schema.json).
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  writeFileSync(process.argv[2] ?? 'ecosystem.schema.json', renderSchema())
}
