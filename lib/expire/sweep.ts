// Sweeping: delete every unmarked object whose last-use time (the newer of its .data and
// .time mtimes) is older than the grace period, orphaned .time files likewise, and
// temporaries older than a day. Fan-out directories stay.
import { unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { isSystemError, savedirIoError } from '../errors.js'
import { objectDirs } from '../repo/layout.js'
import { isTempName } from '../repo/atomic-write.js'
import { statOrNull as mtimeOrNull } from '../repo/stat-or-null.js'

export interface SweepResult {
  objects: number
  bytes: number
  kept: number
  /** Unmarked but used recently: left for a later expire (a running save may need them). */
  young: number
  temporaries: number
}

const TEMP_MAX_AGE_MS = 24 * 3600 * 1000


function remove(p: string): void {
  try {
    unlinkSync(p)
  } catch (e) {
    if (!isSystemError(e, 'ENOENT')) throw savedirIoError(e, 'removing an object', p)
  }
}

export function sweep(savedir: string, marked: Set<string>, graceMs: number, dryRun: boolean, now = Date.now()): SweepResult {
  const r: SweepResult = { objects: 0, bytes: 0, kept: 0, young: 0, temporaries: 0 }
  for (const { dir, names } of objectDirs(savedir)) {
    const present = new Set(names)
    for (const n of names) {
      const p = join(dir, n)
      if (isTempName(n)) {
        const st = mtimeOrNull(p)
        if (st && now - st.mtimeMs > TEMP_MAX_AGE_MS) {
          r.temporaries++
          if (!dryRun) remove(p)
        }
        continue
      }
      const dot = n.lastIndexOf('.')
      const hash = n.slice(0, dot)
      const ext = n.slice(dot)
      if (ext === '.time' && !present.has(`${hash}.data`)) {
        const st = mtimeOrNull(p)
        if (st && now - st.mtimeMs > graceMs && !dryRun) remove(p)
        continue
      }
      if (ext !== '.data') continue
      if (marked.has(hash)) {
        r.kept++
        continue
      }
      const data = mtimeOrNull(p)
      if (!data) continue
      const time = present.has(`${hash}.time`) ? mtimeOrNull(join(dir, `${hash}.time`)) : null
      const lastUse = Math.max(data.mtimeMs, time?.mtimeMs ?? 0)
      if (now - lastUse <= graceMs) {
        r.young++
        continue
      }
      r.objects++
      r.bytes += data.size
      if (!dryRun) {
        remove(p)
        if (time) remove(join(dir, `${hash}.time`))
      }
    }
  }
  return r
}
