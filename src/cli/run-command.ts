// Shared plumbing of the ctl verbs: reach the daemon, report failures with the contract's exit codes.
import { resolveHome } from '../runtime/home.js'
import { Client } from './client.js'

export interface CtlArgs {
  home?: string | undefined
  url?: string | undefined
  token?: string | undefined
  json?: boolean | undefined
}

/** Exit code 1: the daemon refused or failed the request, or could not be reached. */
export function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`error: ${message}\n`)
  process.exitCode = 1
}

/** Connect to the daemon of `--home`, run `body`, and always hang up. */
export async function withClient(args: CtlArgs, body: (client: Client) => Promise<void>): Promise<void> {
  let client: Client | null = null
  try {
    client = args.url === undefined
      ? await Client.connect(resolveHome(args.home).socket)
      : await Client.connectUrl(args.url, args.token ?? process.env['SUPERVISOR_TOKEN'] ?? '')
    await body(client)
  } catch (error) {
    fail(error)
  } finally {
    client?.close()
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2))
}

