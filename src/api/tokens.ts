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
    const fresh = new Map((await this.store.tokens()).map((t) => [t.id, t]))
    for (const id of [...this.records.keys()]) {
      if (fresh.has(id)) continue
      this.records.delete(id)
      for (const listener of this.revokeListeners) listener(id)
    }
    for (const [id, record] of fresh) this.records.set(id, record)
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
