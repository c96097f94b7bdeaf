// Errors with a stable code, shared by every boundary (control socket, WebSocket, CLI exit codes).

export type ErrorCode = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unauthorized' | 'internal'

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'DomainError'
  }
}

export const notFound = (name: string): DomainError => new DomainError('not_found', `task "${name}" not found`)
