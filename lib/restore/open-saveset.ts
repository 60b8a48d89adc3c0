// lib/restore owns reading savesets back: tree traversal for a saveset, the tar stream
// writer, ls / cat / diff. It reads the savedir only through lib/repo.
// This file: open a savedir and resolve a BACKUP spec to its summary, store and root.
import { readConfig, type RepoConfig } from '../repo/config.js'
import { listSummaries, resolveBackup, type ResolveFilter, type SavesetSummary } from '../repo/saveset.js'
import { ObjectStore, type ObjectStoreOptions } from '../repo/object-store.js'
import { TarshiftError } from '../errors.js'

export interface OpenSaveset {
  config: RepoConfig
  store: ObjectStore
  summary: SavesetSummary
  root: Buffer
}

export function openSaveset(savedir: string, spec: string, filter: ResolveFilter = {}, storeOptions: ObjectStoreOptions = {}): OpenSaveset {
  const config = readConfig(savedir)
  const summary = resolveBackup(listSummaries(savedir), spec, filter)
  if (summary.root === null) {
    throw new TarshiftError('TARSHIFT_UNKNOWN_BACKUP', `saveset ${summary.id} is incomplete and has no checkpoint yet: nothing to read`)
  }
  const store = new ObjectStore(savedir, config, storeOptions)
  return { config, store, summary, root: Buffer.from(summary.root, 'hex') }
}
