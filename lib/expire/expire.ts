// tarshift expire (DESIGN.md §4), under the exclusive lock: decide which savesets go, mark
// what the others use (aborting on any unreadable tree, having changed nothing), remove the
// summaries that go, then sweep unmarked objects older than the grace period.
import { unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { isSystemError, savedirIoError, TarshiftError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { listSummaries, type SavesetSummary, type SummaryProblem } from '../repo/saveset.js'
import { SAVESETS_DIR } from '../repo/layout.js'
import { fsyncDir } from '../repo/atomic-write.js'
import { bumpGeneration } from '../repo/generation.js'
import { decideRetention, type Decision, type RetentionRules } from './retention-policy.js'
import { markReachable } from './mark.js'
import { sweep, type SweepResult } from './sweep.js'

export interface ExpireOptions {
  rules: RetentionRules
  graceMs: number
  dryRun: boolean
  now?: Date
}

export interface ExpireResult {
  decisions: Decision[]
  removed: SavesetSummary[]
  treesRead: number
  sweep: SweepResult
  dryRun: boolean
}

export async function expire(savedir: string, store: ObjectStore, opts: ExpireOptions): Promise<ExpireResult> {
  const now = opts.now ?? new Date()
  // A summary that cannot be read names a saveset whose objects we cannot mark: sweeping now
  // would destroy it. Stop before changing anything, as for an unreadable tree.
  const problems: SummaryProblem[] = []
  const summaries = listSummaries(savedir, problems)
  if (problems.length > 0) {
    const p = problems[0] as SummaryProblem
    throw new TarshiftError('TARSHIFT_CORRUPT_OBJECT',
      `cannot read saveset summary ${p.file} (${p.why})${problems.length > 1 ? ` and ${problems.length - 1} more` : ''}; nothing was removed: repair or remove it (run tarshift check), then expire again`,
      { path: p.file })
  }
  const decisions = decideRetention(summaries, opts.rules, now)
  const stay = decisions.filter(d => d.keep).map(d => d.summary)
  const go = decisions.filter(d => !d.keep).map(d => d.summary)
  const { marked, trees } = await markReachable(store, stay)
  if (!opts.dryRun) {
    for (const s of go) {
      const p = join(savedir, SAVESETS_DIR, `${s.id}.json`)
      try {
        unlinkSync(p)
      } catch (e) {
        if (!isSystemError(e, 'ENOENT')) throw savedirIoError(e, 'removing a saveset summary', p)
      }
    }
    if (go.length > 0) fsyncDir(join(savedir, SAVESETS_DIR))
  }
  const swept = sweep(savedir, marked, opts.graceMs, opts.dryRun, now.getTime())
  if (!opts.dryRun && (swept.objects > 0 || go.length > 0)) bumpGeneration(savedir)
  return { decisions, removed: go, treesRead: trees, sweep: swept, dryRun: opts.dryRun }
}
