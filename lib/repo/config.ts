// tarshift.json: format version, repository id, chunker parameters, hash, default codec and
// the inline limits. Fixed at init: changing the chunker later would break deduplication.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { TarshiftError, isSystemError, savedirIoError } from '../errors.js'
import { CONFIG_FILE, fanoutDigitsOfVersion, setFanoutDigits } from './layout.js'
import type { CodecName } from '../codec/codec.js'

export const FORMAT_NAME = 'tarshift-savedir'
/**
 * 3: trees may hold slices (file bytes given as a range of an earlier object: doc/format.md
 * §5.6). 2: 256 fan-out directories (version 1 had 4,096). All three are read; a save writes
 * slices only into a savedir of version 3, which an older tarshift refuses to open.
 */
export const FORMAT_VERSION = 3

/** Whether a save may write slices into this savedir (format version 3 and later). */
export function slicesAllowed(config: RepoConfig): boolean {
  return config.version >= 3
}

export interface RepoConfig {
  format: typeof FORMAT_NAME
  version: number
  id: string
  created: string
  hash: 'sha256'
  chunker: { algorithm: 'fastcdc'; min: number; avg: number; max: number; seed: number }
  compression: CodecName
  /** A regular file no larger than this is stored inside its directory's tree. */
  inlineLimit: number
  /** A directory inlines at most this many bytes in total. */
  inlineDirLimit: number
  /**
   * How a directory's tree is split into parts (doc/format.md §5.5); absent in savedirs made
   * before session 15, which split as `defaultTreeParts` says.
   */
  treeParts?: TreeParts
}

/** The tree split rule's parameters: encoded bytes of a part, and the name-hash mask. */
export interface TreeParts {
  /** A part is closed at a content-defined point only once it holds this many bytes. */
  min: number
  /** A directory encoded in more than this is split; no part is longer (but for one huge entry). */
  max: number
  /** A part may end after an entry whose name's FNV-1a hash has these bits all 0. */
  mask: number
  /**
   * Bytes each entry counts for beyond its encoding, in `min` and `max` (absent in savedirs
   * made before session 21: `defaultEntryWeight`). What a part costs a reader is its entries
   * decoded, not its bytes: a directory of files kept as slices (~120 bytes an entry) made
   * parts of 3,000 entries, whose decoded objects outlived the young generation.
   */
  entryWeight?: number
}

/**
 * The split of new savedirs, and of those without `treeParts`: parts of a quarter to all of the
 * largest chunk, a split point every 64 names. Smaller parts make a changed small file rewrite
 * less of its directory's tree, and cost first saves and restores more objects
 * (doc/performance.md, "Tree parts").
 */
export function defaultTreeParts(chunkerMax: number): Required<TreeParts> {
  return { min: Math.floor(chunkerMax / 4), max: chunkerMax, mask: 0x3f, entryWeight: defaultEntryWeight(chunkerMax) }
}

/** Each entry counts as this many bytes more: a part holds at most 2,048 entries (1 KiB by default). */
export function defaultEntryWeight(max: number): number {
  return Math.floor(max / 2048)
}

/** The split rule a savedir's trees are written with. */
export function treePartsOf(config: RepoConfig): Required<TreeParts> {
  const p = config.treeParts ?? defaultTreeParts(config.chunker.max)
  return { min: p.min, max: p.max, mask: p.mask, entryWeight: p.entryWeight ?? defaultEntryWeight(p.max) }
}

function notASavedir(dir: string, why?: string): TarshiftError {
  return new TarshiftError('TARSHIFT_NOT_A_SAVEDIR',
    `not a tarshift savedir: ${dir}${why ? ` (${why})` : ''}; create one with tarshift init`, { path: dir })
}

/** Read and validate a savedir's config; every command but init starts here. */
export function readConfig(savedir: string): RepoConfig {
  let text: string
  try {
    const st = statSync(savedir)
    if (!st.isDirectory()) throw notASavedir(savedir, 'not a directory')
    text = readFileSync(join(savedir, CONFIG_FILE), 'utf8')
  } catch (e) {
    if (e instanceof TarshiftError) throw e
    if (isSystemError(e, 'ENOENT', 'ENOTDIR')) throw notASavedir(savedir)
    throw savedirIoError(e, 'reading the savedir config', join(savedir, CONFIG_FILE))
  }
  let c: Partial<RepoConfig>
  try {
    c = JSON.parse(text) as Partial<RepoConfig>
  } catch {
    throw notASavedir(savedir, `${CONFIG_FILE} is not valid JSON`)
  }
  if (c.format !== FORMAT_NAME || typeof c.version !== 'number') throw notASavedir(savedir, `${CONFIG_FILE} is not a tarshift config`)
  if (c.version > FORMAT_VERSION) {
    throw new TarshiftError('TARSHIFT_FORMAT_TOO_NEW',
      `savedir ${savedir} has format version ${c.version}; this tarshift reads up to ${FORMAT_VERSION}: upgrade tarshift`, { path: savedir })
  }
  const ch = c.chunker
  if (!ch || !(ch.min > 0 && ch.avg > ch.min && ch.max > ch.avg) || typeof ch.seed !== 'number' ||
      typeof c.id !== 'string' || typeof c.inlineLimit !== 'number' || typeof c.inlineDirLimit !== 'number') {
    throw new TarshiftError('TARSHIFT_BAD_CONFIG', `savedir ${savedir}: ${CONFIG_FILE} is incomplete or invalid`, { path: savedir })
  }
  const tp = c.treeParts
  if (tp !== undefined && !(Number.isInteger(tp.min) && Number.isInteger(tp.max) && Number.isInteger(tp.mask) &&
      tp.min >= 0 && tp.max >= 1024 && tp.min <= tp.max && tp.mask >= 0 && tp.mask <= 0xffff &&
      (tp.entryWeight === undefined || (Number.isInteger(tp.entryWeight) && tp.entryWeight >= 0 && tp.entryWeight <= tp.max)))) {
    throw new TarshiftError('TARSHIFT_BAD_CONFIG', `savedir ${savedir}: ${CONFIG_FILE} has an invalid treeParts`, { path: savedir })
  }
  setFanoutDigits(savedir, fanoutDigitsOfVersion(c.version))
  return c as RepoConfig
}
