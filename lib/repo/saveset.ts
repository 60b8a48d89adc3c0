// Saveset summaries: savesets/<backup-id>.json. Written at the start of a save (finish null),
// at each checkpoint and at the end; the finish time is the completed marker (DESIGN.md §3).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { TarshiftError, isSystemError, savedirIoError } from '../errors.js'
import { writeFileAtomic } from './atomic-write.js'
import { SAVESETS_DIR } from './layout.js'

export const SUMMARY_VERSION = 1

export interface SavesetSummary {
  id: string
  host: string
  subset: string
  /** ISO-8601 UTC with milliseconds. */
  start: string
  /** Null until the save completes: the completed marker. */
  finish: string | null
  /** Time of the latest checkpoint, or null. */
  checkpoint: string | null
  /** Hex object name of the root tree ("/"), null until the first checkpoint. */
  root: string | null
  files: number
  dirs: number
  /** What a restore of this saveset would produce (regular file bytes). */
  bytesTotal: number
  bytesRead: number
  bytesNew: number
  warnings: number
  /** Hex object name of a data object listing the warnings (JSON lines), or null. */
  warningsRef: string | null
  /** The savesets this one was compared against (incremental references). */
  references: string[]
  version: number
}

export const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/

/** A backup id: sortable by time, safe as a file name, readable. */
export function newBackupId(start: Date, host: string, subset: string): string {
  const t = start.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `${t}_${host}_${subset}_${randomBytes(4).toString('hex')}`
}

export function summaryPath(savedir: string, id: string): string {
  return join(savedir, SAVESETS_DIR, `${id}.json`)
}

export function writeSummary(savedir: string, s: SavesetSummary): void {
  const p = summaryPath(savedir, s.id)
  try {
    writeFileAtomic(p, [Buffer.from(JSON.stringify(s, null, 1) + '\n')], { fsync: true, mode: 0o600 })
  } catch (e) {
    throw savedirIoError(e, 'writing the saveset summary', p)
  }
}

export interface SummaryProblem {
  file: string
  why: string
}

/** Every summary in the savedir, oldest first; unparsable ones are returned as problems. */
export function listSummaries(savedir: string, problems?: SummaryProblem[]): SavesetSummary[] {
  const dir = join(savedir, SAVESETS_DIR)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    throw savedirIoError(e, 'listing savesets', dir)
  }
  const out: SavesetSummary[] = []
  for (const n of names) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue
    const p = join(dir, n)
    let s: SavesetSummary
    try {
      s = JSON.parse(readFileSync(p, 'utf8')) as SavesetSummary
      if (typeof s.id !== 'string' || typeof s.start !== 'string' || typeof s.host !== 'string') throw new Error('missing fields')
    } catch (e) {
      if (isSystemError(e, 'ENOENT')) continue // removed by a concurrent expire
      if (isSystemError(e, 'EIO', 'ENOSPC', 'ESTALE', 'ETIMEDOUT')) throw savedirIoError(e, 'reading a saveset summary', p)
      problems?.push({ file: p, why: (e as Error).message })
      continue
    }
    out.push(s)
  }
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return out
}

export interface ResolveFilter {
  host?: string
  subset?: string
}

/** Resolve a full id, a unique prefix, or "latest" (the newest completed saveset, filtered). */
export function resolveBackup(all: readonly SavesetSummary[], spec: string, f: ResolveFilter = {}): SavesetSummary {
  const pool = all.filter(s => (f.host === undefined || s.host === f.host) && (f.subset === undefined || s.subset === f.subset))
  if (spec === 'latest') {
    const done = pool.filter(s => s.finish !== null)
    const last = done[done.length - 1]
    if (!last) {
      const where = [f.host && `host ${f.host}`, f.subset && `subset ${f.subset}`].filter(Boolean).join(', ')
      throw new TarshiftError('TARSHIFT_UNKNOWN_BACKUP', `no completed saveset${where ? ` for ${where}` : ''}; see tarshift list`)
    }
    return last
  }
  const exact = pool.find(s => s.id === spec)
  if (exact) return exact
  const matches = pool.filter(s => s.id.startsWith(spec))
  if (matches.length === 1) return matches[0] as SavesetSummary
  if (matches.length === 0) throw new TarshiftError('TARSHIFT_UNKNOWN_BACKUP', `unknown backup "${spec}"; see tarshift list`)
  const shown = matches.slice(0, 10).map(s => s.id).join(', ')
  throw new TarshiftError('TARSHIFT_AMBIGUOUS_BACKUP',
    `backup "${spec}" is ambiguous: ${matches.length} match (${shown}${matches.length > 10 ? ', ...' : ''}); give more of the id`)
}
