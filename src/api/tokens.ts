// Listener keys: secrets shown once, stored only as hashes, checked in constant time, revocable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Scope, Store, TokenRecord } from '../store/store.js'

export interface CreatedToken {
  id: string
  token: string
  scope: Scope
  name: string
}

const hashOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest()

export interface Grant {
  id: string
  scope: Scope
}

export class TokenRegistry {
  private readonly revokeListeners = new Set<(id: string) => void>()
  /** Tokens revoked while a refresh reads the store (its read may still hold them). */
  private revokedDuringRefresh: Set<string> | null = null

  private constructor(
    private readonly store: Store,
    private readonly records: Map<string, TokenRecord>,
  ) {}

  static async load(store: Store): Promise<TokenRegistry> {
    const records = new Map((await store.tokens()).map((t) => [t.id, t]))
    return new TokenRegistry(store, records)
  }

  async create(scope: Scope, name: string, now: number): Promise<CreatedToken> {
    const id = randomBytes(6).toString('hex')
    const token = `svt_${id}_${randomBytes(24).toString('base64url')}`
    const record: TokenRecord = { id, hash: hashOf(token).toString('hex'), scope, name, created: new Date(now).toISOString() }
    await this.store.putToken(record)
    this.records.set(id, record)
    return { id, token, scope, name }
  }

  list(): Omit<TokenRecord, 'hash'>[] {
    return [...this.records.values()].map(({ hash: _hash, ...rest }) => rest)
  }

  async revoke(id: string): Promise<boolean> {
    this.revokedDuringRefresh?.add(id)
    const had = await this.store.deleteToken(id)
    this.records.delete(id)
    for (const listener of this.revokeListeners) listener(id)
    return had
  }

  /**
   * Read the tokens again (a cluster: other nodes create and revoke them too); a token gone from the
   * store is revoked here as well, its connections ended.
   */
  async refresh(): Promise<void> {
    // Only tokens known before the read can be missing from it: one created here meanwhile is kept;
    // one revoked here meanwhile is not brought back by the read.
    const known = [...this.records.keys()]
    const revoked = new Set<string>()
    this.revokedDuringRefresh = revoked
    let fresh: Map<string, TokenRecord>
    try {
      fresh = new Map((await this.store.tokens()).map((t) => [t.id, t]))
    } finally {
      this.revokedDuringRefresh = null
    }
    for (const id of known) {
      if (fresh.has(id) || !this.records.has(id)) continue
      this.records.delete(id)
      for (const listener of this.revokeListeners) listener(id)
    }
    for (const [id, record] of fresh) if (!revoked.has(id)) this.records.set(id, record)
  }

  /** Be told when a token is revoked (its open connections must end too). */
  onRevoke(listener: (id: string) => void): () => void {
    this.revokeListeners.add(listener)
    return () => this.revokeListeners.delete(listener)
  }

  /** What a presented token grants, or null. Every stored hash is compared, match or not. */
  verify(token: unknown): Grant | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) return null
    const presented = hashOf(token)
    let grant: Grant | null = null
    for (const record of this.records.values()) {
      const stored = Buffer.from(record.hash, 'hex')
      if (stored.length === presented.length && timingSafeEqual(stored, presented)) grant = { id: record.id, scope: record.scope }
    }
    return grant
  }
}
