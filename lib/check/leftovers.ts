// What crashes and running saves leave behind, found by listing the savedir: temporaries
// (.<name>.<host>.<pid>.<random>.tmp in chunks/*/, savesets/ and the top directory), locks
// of dead processes or not refreshed for 30 minutes, objects no saveset references, .time
// files whose object is gone, files that do not belong, and what an earlier repair moved to
// quarantine/. None of it harms a saveset: expire, unlock and the next save deal with it.
// The one error found here is a missing fan-out directory (saves into it would fail).
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { isSystemError, savedirIoError } from '../errors.js'
import { isTempName } from '../repo/atomic-write.js'
import { CHUNKS_DIR, QUARANTINE_DIR, SAVESETS_DIR, fanoutDigits, fanoutNames, isObjectName } from '../repo/layout.js'
import { isStale, listLocks, type LockInfo } from '../repo/lock.js'
import { statOrNull } from '../repo/stat-or-null.js'

/** Keep the lists of names bounded: beyond this, only counts. */
export const LIST_MAX = 50

export interface Leftovers {
  /** Relative to the savedir, with their age in ms. */
  temporaries: Array<{ file: string; ageMs: number }>
  temporariesTotal: number
  unreferenced: { count: number; bytes: number; sample: string[] }
  orphanTimes: number
  stray: string[]
  strayTotal: number
  missingFanout: string[]
  staleLocks: LockInfo[]
  activeLocks: LockInfo[]
  quarantined: number
}

function listDir(dir: string, what: string): string[] | null {
  try {
    return readdirSync(dir)
  } catch (e) {
    if (isSystemError(e, 'ENOENT')) return null
    throw savedirIoError(e, what, dir)
  }
}


/**
 * Scan the savedir. `referenced(hash)`: whether a saveset uses the object; `ownLock`: the
 * file name of the lock this check holds (not reported).
 */
export function scanLeftovers(savedir: string, referenced: (hash: string) => boolean, ownLock: string | null, now = Date.now()): Leftovers {
  const l: Leftovers = {
    temporaries: [], temporariesTotal: 0, unreferenced: { count: 0, bytes: 0, sample: [] }, orphanTimes: 0,
    stray: [], strayTotal: 0, missingFanout: [], staleLocks: [], activeLocks: [], quarantined: 0,
  }
  const temporary = (rel: string, abs: string): void => {
    const st = statOrNull(abs)
    if (!st) return
    l.temporariesTotal++
    if (l.temporaries.length < LIST_MAX) l.temporaries.push({ file: rel, ageMs: Math.max(0, now - st.mtimeMs) })
  }
  const stray = (rel: string): void => {
    l.strayTotal++
    if (l.stray.length < LIST_MAX) l.stray.push(rel)
  }

  for (const f of fanoutNames(savedir)) {
    const dir = join(savedir, CHUNKS_DIR, f)
    const names = listDir(dir, 'listing objects')
    if (names === null) {
      l.missingFanout.push(`${CHUNKS_DIR}/${f}`)
      continue
    }
    const present = new Set(names)
    for (const n of names) {
      const rel = `${CHUNKS_DIR}/${f}/${n}`
      if (isTempName(n)) {
        temporary(rel, join(dir, n))
        continue
      }
      const dot = n.lastIndexOf('.')
      const hash = dot < 0 ? n : n.slice(0, dot)
      const ext = dot < 0 ? '' : n.slice(dot)
      if (!isObjectName(hash) || hash.slice(0, fanoutDigits(savedir)) !== f || (ext !== '.data' && ext !== '.time')) {
        stray(rel)
        continue
      }
      if (ext === '.time') {
        if (!present.has(`${hash}.data`)) l.orphanTimes++
        continue
      }
      if (referenced(hash)) continue
      const st = statOrNull(join(dir, n))
      if (!st) continue
      l.unreferenced.count++
      l.unreferenced.bytes += st.size
      if (l.unreferenced.sample.length < LIST_MAX) l.unreferenced.sample.push(hash)
    }
  }

  for (const [sub, rel] of [[join(savedir, SAVESETS_DIR), `${SAVESETS_DIR}/`], [savedir, '']] as const) {
    for (const n of listDir(sub, 'listing the savedir') ?? []) if (isTempName(n)) temporary(`${rel}${n}`, join(sub, n))
  }

  for (const lock of listLocks(savedir)) {
    if (lock.file === ownLock) continue
    if (isStale(lock, now)) l.staleLocks.push(lock)
    else l.activeLocks.push(lock)
  }

  l.quarantined = (listDir(join(savedir, QUARANTINE_DIR), 'listing the quarantine') ?? []).filter(n => n.endsWith('.data')).length
  return l
}
