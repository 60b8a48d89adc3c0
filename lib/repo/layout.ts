// lib/repo owns the savedir: its layout, config, atomic writes, the object store
// (put/get/has/touch), saveset summaries and locks. It knows nothing of tar or of source trees.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { isSystemError, savedirIoError } from '../errors.js'

export const CONFIG_FILE = 'tarshift.json'
export const CHUNKS_DIR = 'chunks'
export const SAVESETS_DIR = 'savesets'
export const LOCKS_DIR = 'locks'
export const QUARANTINE_DIR = 'quarantine'

/** Fan-out: the first three hex digits of an object name, 4096 directories made by init. */
export const FANOUT_DIGITS = 3

export function fanoutNames(): string[] {
  const out: string[] = []
  for (let i = 0; i < 16 ** FANOUT_DIGITS; i++) out.push(i.toString(16).padStart(FANOUT_DIGITS, '0'))
  return out
}

export function objectDir(savedir: string, hash: string): string {
  return join(savedir, CHUNKS_DIR, hash.slice(0, FANOUT_DIGITS))
}

export function dataPath(savedir: string, hash: string): string {
  return join(objectDir(savedir, hash), `${hash}.data`)
}

export function timePath(savedir: string, hash: string): string {
  return join(objectDir(savedir, hash), `${hash}.time`)
}

export function isObjectName(hash: string): boolean {
  return /^[0-9a-f]{64}$/.test(hash)
}

/**
 * Every fan-out directory with its names, in order; a directory that is missing is skipped
 * (check reports those). Listing errors are fatal savedir errors.
 */
export function* objectDirs(savedir: string): Generator<{ fanout: string; dir: string; names: string[] }> {
  for (const fanout of fanoutNames()) {
    const dir = join(savedir, CHUNKS_DIR, fanout)
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch (e) {
      if (isSystemError(e, 'ENOENT')) continue
      throw savedirIoError(e, 'listing objects', dir)
    }
    yield { fanout, dir, names }
  }
}
