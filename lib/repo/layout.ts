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

/**
 * Fan-out: an object lives in chunks/<the first hex digits of its name>/, in directories made
 * by init. Format version 2 uses two digits (256 directories); version 1 used three (4,096),
 * and such savedirs are still read and written (doc/format.md, "Divergences", says why).
 */
export const FANOUT_DIGITS = 2

export function fanoutDigitsOfVersion(version: number): number {
  return version >= 2 ? 2 : 3
}

const digitsBySavedir = new Map<string, number>()

/** Record a savedir's fan-out width: readConfig does, and each store worker. */
export function setFanoutDigits(savedir: string, digits: number): void {
  digitsBySavedir.set(savedir, digits)
}

/** The savedir's fan-out width (this version's, for a savedir whose config was not read here). */
export function fanoutDigits(savedir: string): number {
  return digitsBySavedir.get(savedir) ?? FANOUT_DIGITS
}

export function fanoutNames(savedir: string): string[] {
  const d = fanoutDigits(savedir)
  const out: string[] = []
  for (let i = 0; i < 16 ** d; i++) out.push(i.toString(16).padStart(d, '0'))
  return out
}

export function objectDir(savedir: string, hash: string): string {
  return join(savedir, CHUNKS_DIR, hash.slice(0, fanoutDigits(savedir)))
}

const chunksDirs = new Map<string, string>()
const OBJECT_NAME = /^[0-9a-f]{64}$/

/**
 * An object's .data file. Made once for each object read or written, and for each one asked
 * for ahead (native prefetch): an object name needs no path.join (two of them cost ~3 us an
 * object, 30 ms of a restore of /usr/share's 10,000 objects on the main thread).
 */
export function dataPath(savedir: string, hash: string): string {
  if (!OBJECT_NAME.test(hash)) return join(objectDir(savedir, hash), `${hash}.data`)
  let base = chunksDirs.get(savedir)
  if (base === undefined) {
    base = join(savedir, CHUNKS_DIR)
    chunksDirs.set(savedir, base)
  }
  return `${base}/${hash.slice(0, fanoutDigits(savedir))}/${hash}.data`
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
  for (const fanout of fanoutNames(savedir)) {
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
