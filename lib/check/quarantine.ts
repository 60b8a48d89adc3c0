// check --repair: move corrupt objects out of chunks/ into SAVEDIR/quarantine/ (0700), so that
// the next save finds them missing and stores them again from the source (a save checks that
// an object it reuses exists), and bump the savedir generation so that no host's local cache
// still believes they exist. Nothing is deleted: a quarantined object can be inspected, and
// removed by hand. The object's .time goes too: it described the last use of what is gone.
// Runs under the exclusive lock only.
import { chmodSync, existsSync, mkdirSync, renameSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { isSystemError, savedirIoError } from '../errors.js'
import { fsyncDir } from '../repo/atomic-write.js'
import { bumpGeneration } from '../repo/generation.js'
import { QUARANTINE_DIR, dataPath, objectDir, timePath } from '../repo/layout.js'

export interface QuarantineResult {
  /** Per object moved: where it went, relative to the savedir. */
  moved: Array<{ hash: string; to: string }>
  /** The new generation, or null when nothing moved. */
  generation: number | null
}

/** A name in quarantine/ not yet taken: <hash>.data, else <hash>.1.data, <hash>.2.data, ... */
function freeName(qdir: string, hash: string): string {
  for (let i = 0; ; i++) {
    const n = i === 0 ? `${hash}.data` : `${hash}.${i}.data`
    if (!existsSync(join(qdir, n))) return n
  }
}

export function quarantine(savedir: string, hashes: readonly string[]): QuarantineResult {
  const r: QuarantineResult = { moved: [], generation: null }
  if (hashes.length === 0) return r
  const qdir = join(savedir, QUARANTINE_DIR)
  try {
    mkdirSync(qdir, { mode: 0o700 })
  } catch (e) {
    if (!isSystemError(e, 'EEXIST')) throw savedirIoError(e, 'creating the quarantine directory', qdir)
  }
  try {
    chmodSync(qdir, 0o700)
  } catch (e) {
    throw savedirIoError(e, 'setting the mode of the quarantine directory', qdir)
  }
  const dirs = new Set<string>()
  for (const hash of new Set(hashes)) {
    const from = dataPath(savedir, hash)
    const name = freeName(qdir, hash)
    try {
      renameSync(from, join(qdir, name))
    } catch (e) {
      if (isSystemError(e, 'ENOENT')) continue // gone already: nothing to move
      throw savedirIoError(e, 'moving a corrupt object to quarantine', from)
    }
    dirs.add(objectDir(savedir, hash))
    r.moved.push({ hash, to: `${QUARANTINE_DIR}/${name}` })
    try {
      unlinkSync(timePath(savedir, hash))
    } catch (e) {
      if (!isSystemError(e, 'ENOENT')) throw savedirIoError(e, 'removing the .time of a quarantined object', timePath(savedir, hash))
    }
  }
  if (r.moved.length === 0) return r
  for (const d of [qdir, ...dirs]) {
    try {
      fsyncDir(d)
    } catch (e) {
      throw savedirIoError(e, 'making a directory durable', d)
    }
  }
  r.generation = bumpGeneration(savedir)
  return r
}
