// tarshift init: create a savedir (0700) with its fan-out directories and tarshift.json.
// The config is written last, atomically: a directory without it is not a savedir.
import { chmodSync, mkdirSync, readdirSync, statSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { TarshiftError, isSystemError, savedirIoError } from '../errors.js'
import { writeFileAtomic } from './atomic-write.js'
import { CHUNKS_DIR, CONFIG_FILE, FANOUT_DIGITS, LOCKS_DIR, SAVESETS_DIR, fanoutNames, setFanoutDigits } from './layout.js'
import { FORMAT_NAME, FORMAT_VERSION, defaultTreeParts, type RepoConfig } from './config.js'
import { DEFAULT_CHUNKER } from '../chunker/fastcdc.js'
import type { CodecName } from '../codec/codec.js'

export interface InitOptions {
  compression?: CodecName
  /** Average chunk size; min is avg/4 and max avg*4, as the defaults. */
  chunkAvg?: number
  inlineLimit?: number
}

export const DEFAULT_INLINE_LIMIT = 16 * 1024
export const DEFAULT_INLINE_DIR_LIMIT = 64 * 1024 * 1024

function checkTarget(savedir: string): void {
  let entries: string[]
  try {
    if (!statSync(savedir).isDirectory()) {
      throw new TarshiftError('TARSHIFT_SAVEDIR_NOT_EMPTY', `cannot init ${savedir}: it exists and is not a directory`, { path: savedir })
    }
    entries = readdirSync(savedir)
  } catch (e) {
    if (isSystemError(e, 'ENOENT')) return
    throw e instanceof TarshiftError ? e : savedirIoError(e, 'inspecting the init target', savedir)
  }
  if (existsSync(join(savedir, CONFIG_FILE))) {
    throw new TarshiftError('TARSHIFT_SAVEDIR_EXISTS', `${savedir} is already a tarshift savedir; nothing done`, { path: savedir })
  }
  if (entries.length > 0) {
    throw new TarshiftError('TARSHIFT_SAVEDIR_NOT_EMPTY',
      `cannot init ${savedir}: directory is not empty and is not a savedir; choose an empty or new directory`, { path: savedir })
  }
}

export function initSavedir(savedir: string, opts: InitOptions = {}): RepoConfig {
  checkTarget(savedir)
  const avg = opts.chunkAvg ?? DEFAULT_CHUNKER.avg
  if (!Number.isInteger(Math.log2(avg)) || avg < 4096 || avg > 64 * 1024 * 1024) {
    throw new TarshiftError('TARSHIFT_USAGE', `--chunk-size must be a power of two between 4 KiB and 64 MiB, not ${avg}`)
  }
  const config: RepoConfig = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    created: new Date().toISOString(),
    hash: 'sha256',
    chunker: { algorithm: 'fastcdc', min: avg / 4, avg, max: avg * 4, seed: DEFAULT_CHUNKER.seed },
    compression: opts.compression ?? 'zstd',
    inlineLimit: opts.inlineLimit ?? DEFAULT_INLINE_LIMIT,
    inlineDirLimit: DEFAULT_INLINE_DIR_LIMIT,
    treeParts: defaultTreeParts(avg * 4),
  }
  try {
    mkdirSync(savedir, { recursive: true, mode: 0o700 })
    // Private whatever the umask, and also when the directory existed (empty) beforehand:
    // plain SHA-256 object names tell anyone who can list them which files are saved (§8).
    chmodSync(savedir, 0o700)
    const chunks = join(savedir, CHUNKS_DIR)
    mkdirSync(chunks, { mode: 0o700 })
    setFanoutDigits(savedir, FANOUT_DIGITS)
    for (const f of fanoutNames(savedir)) mkdirSync(join(chunks, f), { mode: 0o700 })
    mkdirSync(join(savedir, SAVESETS_DIR), { mode: 0o700 })
    mkdirSync(join(savedir, LOCKS_DIR), { mode: 0o700 })
    writeFileAtomic(join(savedir, CONFIG_FILE), [Buffer.from(JSON.stringify(config, null, 2) + '\n')], { fsync: true, mode: 0o600 })
  } catch (e) {
    throw savedirIoError(e, 'creating the savedir', savedir)
  }
  return config
}
