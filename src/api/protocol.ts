// The request/answer envelope of both transports: {"id","method","params"} -> {"id","result"|"error"}.
import { z } from 'zod'
import { DomainError, type ErrorCode } from '../core/errors.js'

export const requestSchema = z.strictObject({
  id: z.union([z.string().max(128), z.number()], { error: 'expected a string or number id' }),
  method: z.string({ error: 'expected a method name' }).max(64),
  params: z.unknown().optional(),
})

export type Request = z.output<typeof requestSchema>

export type Answer =
  | { id: string | number | null; result: unknown }
  | { id: string | number | null; error: { code: ErrorCode; message: string } }

export function errorAnswer(id: string | number | null, error: unknown): Answer {
  if (error instanceof DomainError) return { id, error: { code: error.code, message: error.message } }
  return { id, error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } }
}
