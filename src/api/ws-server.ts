// The WebSocket API on /ws: token auth (header or first message), Origin check, bounded frames and rates.
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import type { DaemonContext } from './context.js'
import { Session } from './session.js'
import type { Grant } from './tokens.js'

export const WS_LIMITS = {
  /** Largest frame; bigger ones close the connection (1009). Large applies come in parts. */
  maxPayload: 1024 * 1024,
  /** Messages a second a connection may send on average, and in a burst. */
  rate: 200,
  burst: 400,
  /** A subscriber that lets this much pile up unread is cut off rather than grow the daemon. */
  maxBuffered: 16 * 1024 * 1024,
  /**
   * Received and not yet handled (requests are handled one at a time, in order): a client that sends
   * faster than its requests are handled is cut off past this, rather than queue up to the rate limit
   * times the frame size. `ctl` keeps at most 8 parts of 512 KB in flight.
   */
  maxPending: 64 * 1024 * 1024,
  authTimeoutMs: 5000,
  /** After a connection's error: how long its close frame has to reach the client before the socket goes. */
  closeGraceMs: 1000,
}

export const CLOSE_UNAUTHORIZED = 4401
const CLOSE_POLICY = 1008

export interface WebSocketApi {
  /** Open WebSocket connections now. */
  readonly clients: number
  close(): Promise<void>
}

export function attachWebSocket(ctx: DaemonContext, http: Server, limits = WS_LIMITS): WebSocketApi {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayload })
  /** Open connections by the token they authenticated with: revoking it ends them. */
  const byToken = new Map<string, Set<WebSocket>>()
  const track = (ws: WebSocket, grant: Grant): void => {
    const set = byToken.get(grant.id) ?? new Set()
    set.add(ws)
    byToken.set(grant.id, set)
    ws.once('close', () => set.delete(ws))
  }
  const stopRevokes = ctx.tokens.onRevoke((id) => {
    for (const ws of byToken.get(id) ?? []) ws.close(CLOSE_UNAUTHORIZED, 'token revoked')
    byToken.delete(id)
  })
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if ((req.url ?? '').split('?')[0] !== '/ws') return refuse(404, 'Not Found')
    if (!originAllowed(req)) return refuse(403, 'Forbidden')
    const header = req.headers.authorization
    let grant: Grant | null = null
    if (header !== undefined) {
      grant = ctx.tokens.verify(/^Bearer\s+(\S+)$/i.exec(header)?.[1])
      if (grant === null) return refuse(401, 'Unauthorized')
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ctx, ws, grant, limits, track))
  })
  return {
    get clients() {
      return wss.clients.size
    },
    close: () =>
      new Promise((resolve) => {
        stopRevokes()
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      }),
  }
}

/**
 * Browsers send Origin: only the daemon's own page may connect from one (against cross-site WebSocket
 * hijacking). Programs send none and are judged by their token alone.
 */
function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  return origin === `http://${req.headers.host ?? ''}` || origin === `https://${req.headers.host ?? ''}`
}

function serve(
  ctx: DaemonContext,
  ws: WebSocket,
  headerGrant: Grant | null,
  limits: typeof WS_LIMITS,
  track: (ws: WebSocket, grant: Grant) => void,
): void {
  let session: Session | null = null
  const send = (message: unknown): void => {
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > limits.maxBuffered) return ws.terminate()
    ws.send(JSON.stringify(message))
  }
  const open = (grant: Grant): Session => {
    track(ws, grant)
    return (session = new Session(ctx, grant.scope, send))
  }
  if (headerGrant !== null) open(headerGrant)
  const authTimer = headerGrant === null
    ? setTimeout(() => ws.close(CLOSE_UNAUTHORIZED, 'authenticate within 5 s'), limits.authTimeoutMs)
    : null
  let tokens = limits.burst
  let refilled = Date.now()
  let queue: Promise<void> = Promise.resolve()
  let pending = 0
  ws.on('message', (data, isBinary) => {
    if (session === null) {
      // Before anything else, the browser path's one auth message; whatever else comes first ends it.
      const auth = isBinary ? null : firstMessageAuth(ctx, data.toString())
      if (auth === null) return ws.close(CLOSE_UNAUTHORIZED, 'unauthorized')
      if (authTimer !== null) clearTimeout(authTimer)
      open(auth.grant)
      send({ id: auth.id, result: { scope: auth.grant.scope } })
      return
    }
    const now = Date.now()
    tokens = Math.min(limits.burst, tokens + ((now - refilled) / 1000) * limits.rate)
    refilled = now
    if (--tokens < 0) return ws.close(CLOSE_POLICY, 'rate limit exceeded')
    if (isBinary) return ws.close(CLOSE_POLICY, 'text frames only')
    const current = session
    const text = data.toString()
    if (pending + text.length > limits.maxPending) return ws.close(CLOSE_POLICY, 'too much input waiting to be handled')
    pending += text.length
    queue = queue.then(async () => {
      try {
        await current.receive(text)
      } finally {
        pending -= text.length
      }
    })
  })
  ws.on('close', () => {
    if (authTimer !== null) clearTimeout(authTimer)
    session?.stop()
  })
  // On a bad frame ws has already sent the close frame with its code (1009 for an oversize frame) and
  // drops whatever still arrives. The socket goes after a grace period: a client still sending that
  // frame gets to read the code, where ending the socket at once resets it (the client sees 1006).
  ws.on('error', () => setTimeout(() => ws.terminate(), limits.closeGraceMs).unref())
}

/** `{"method":"auth","params":{"token":T}}` with a valid token: what it grants, and the id to answer. */
function firstMessageAuth(ctx: DaemonContext, text: string): { grant: Grant; id: string | number | null } | null {
  try {
    const message = JSON.parse(text) as { id?: unknown; method?: unknown; params?: { token?: unknown } }
    if (message.method !== 'auth') return null
    const grant = ctx.tokens.verify(message.params?.token)
    const id = typeof message.id === 'string' || typeof message.id === 'number' ? message.id : null
    return grant === null ? null : { grant, id }
  } catch {
    return null
  }
}
