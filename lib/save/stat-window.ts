// One window of a directory's sorted names, as the save's own walk takes it (save.ts) when the
// read-ahead thread cannot give it (native/read-ahead.c does the same in C, with the same
// exclude matching): the names an --exclude pattern does not match, their full paths, and
// their lstat, in one native call relative to the directory. An excluded name is never
// looked at: it may be a hung mount point.
import type { PreRead } from './pre-read.js'
import { decodeStats, lstatRaw, type FileStat, type LstatFailure } from '../fs/file-stat.js'
import type { Excluder } from './exclude.js'
import { joinPathText } from './source-paths.js'

export interface StatWindow {
  /** The names kept (latin1 strings: one char per byte). */
  texts: string[]
  /** Their full paths; the name is the last `texts[k].length` bytes. */
  paths: Buffer[]
  stats: Array<FileStat | LstatFailure>
  /** What the read-ahead's reader read of these entries (a window it gave), if anything. */
  pre?: PreRead | null
}

/**
 * names[from, to) of directory `dir`, without the excluded ones, lstat'ed; `statDir` is the
 * path the lstat goes through (lib/fs/long-paths.ts: the same directory, reached).
 */
export function statWindow(dir: Buffer, names: readonly string[], from: number, to: number, excluder: Excluder, statDir: Buffer = dir): StatWindow {
  const texts: string[] = []
  const paths: Buffer[] = []
  for (let i = from; i < Math.min(to, names.length); i++) {
    const text = names[i] as string
    const path = joinPathText(dir, text)
    if (excluder.excludes(path, path.subarray(path.length - text.length))) continue
    texts.push(text)
    paths.push(path)
  }
  return { texts, paths, stats: decodeStats(lstatRaw(statDir, texts), texts.length) }
}
