// lib/check owns the integrity check of a savedir (DESIGN.md §7): the reachability walk over
// every saveset's trees, the scan for crash leftovers, reading data back (--read-data), and
// --repair's quarantine. It reads the savedir only through lib/repo and lib/tree; the one thing
// it ever writes is check --repair moving corrupt objects to quarantine/ (and the generation).
//
// This file: what a check finds. A finding is an error (the savedir is damaged: something a
// saveset needs is missing or corrupt, or a summary does not parse) or information (leftovers
// of a crash or of a running save, which the next save, expire or unlock deal with).

export type ErrorKind =
  | 'bad-summary'
  | 'bad-root'
  | 'missing-tree'
  | 'corrupt-tree'
  | 'missing-chunk'
  | 'corrupt-chunk'
  | 'chunk-length'
  | 'missing-warnings'
  | 'corrupt-warnings'
  | 'missing-fanout'

export type InfoKind =
  | 'incomplete-saveset'
  | 'temporary'
  | 'stale-lock'
  | 'active-lock'
  | 'unreferenced'
  | 'orphan-time'
  | 'stray-file'
  | 'quarantine'

export interface Finding {
  level: 'error' | 'info'
  kind: ErrorKind | InfoKind
  /** One readable line (without the "error: " / "info: " prefix). */
  message: string
  /** The object (sha256 hex) concerned, if any. */
  object?: string
  /** A file of the savedir concerned (summary, lock, temporary), if any. */
  file?: string
  /** The savesets that use the object (all of them), by id. */
  savesets?: string[]
  /** Saved paths that use the object, escaped for display; at most a few. */
  paths?: string[]
  /** More paths use it than `paths` shows. */
  morePaths?: boolean
  /** Aggregated findings (unreferenced objects): the first few objects. */
  objects?: string[]
  /** Aggregated findings (unreferenced objects, orphan .time files): how many. */
  count?: number
  bytes?: number
}

/** What a damaged saveset lost: one line per object problem that reaches it. */
export interface SavesetLoss {
  saveset: string
  lost: Array<{ object: string; what: 'tree' | 'chunk' | 'warnings'; state: 'missing' | 'corrupt' | 'quarantined'; path: string | null }>
}

export interface Quarantined {
  object: string
  what: 'tree' | 'chunk' | 'warnings'
  /** Where it went, relative to the savedir. */
  to: string
}

export interface CheckReport {
  errors: Finding[]
  info: Finding[]
  savesets: number
  incomplete: number
  /** Distinct tree objects read (trees, tree indexes and their parts). */
  trees: number
  /** Distinct data chunks referenced. */
  chunks: number
  /** Data chunks read back and verified (--read-data / --read-data-subset). */
  chunksRead: number
  bytesRead: number
  readData: 'none' | 'all' | 'subset'
  percent: number | null
  unreferenced: number
  temporaries: number
  staleLocks: number
  /** Per saveset, what it lost (missing or corrupt objects it uses). */
  damaged: SavesetLoss[]
  /** check --repair: what was moved to quarantine/; null without --repair. */
  repair: { quarantined: Quarantined[]; generation: number | null } | null
}
