// The savedir generation: a number in SAVEDIR/generation that expire and check --repair bump
// whenever they remove or quarantine objects. Local caches from another generation are dropped.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isSystemError, savedirIoError } from '../errors.js'
import { writeFileAtomic } from './atomic-write.js'

export const GENERATION_FILE = 'generation'

export function readGeneration(savedir: string): number {
  const p = join(savedir, GENERATION_FILE)
  try {
    const n = Number(readFileSync(p, 'utf8').trim())
    return Number.isInteger(n) ? n : 0
  } catch (e) {
    if (isSystemError(e, 'ENOENT')) return 0
    throw savedirIoError(e, 'reading the savedir generation', p)
  }
}

export function bumpGeneration(savedir: string): number {
  const next = readGeneration(savedir) + 1
  const p = join(savedir, GENERATION_FILE)
  try {
    writeFileAtomic(p, [Buffer.from(`${next}\n`)], { fsync: true, mode: 0o600 })
  } catch (e) {
    throw savedirIoError(e, 'writing the savedir generation', p)
  }
  return next
}
