// The store contract against the in-memory fake, so runtime tests can trust it.
import { MemoryStore } from '../helpers/memory-store.js'
import { storeContract } from './store-contract.js'

storeContract('memory', { open: async () => ({ store: new MemoryStore(), dispose: async () => undefined }) })
