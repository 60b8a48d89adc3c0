// stat of a savedir file that may go away meanwhile (renamed, expired by another host).
import { statSync } from 'node:fs'
import { isSystemError, savedirIoError } from '../errors.js'

/** mtime and size, or null when the file is gone. */
export function statOrNull(p: string): { mtimeMs: number; size: number } | null {
  try {
    const st = statSync(p)
    return { mtimeMs: st.mtimeMs, size: st.size }
  } catch (e) {
    if (isSystemError(e, 'ENOENT')) return null
    throw savedirIoError(e, 'stat', p)
  }
}
