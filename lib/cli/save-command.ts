import { readFileSync } from 'node:fs'
import { isatty } from 'node:tty'
import type { Command } from './main.js'
import { checkName, parse, savedirFrom } from './options.js'
import { readConfig } from '../repo/config.js'
import { codecByName } from '../codec/codec.js'
import { TarshiftError, UsageError, isSystemError } from '../errors.js'
import { buildSelection, splitList } from '../save/source-paths.js'
import { resolve } from 'node:path'
import type { SaveResult } from '../save/save.js'
import type { ReadAhead } from '../save/read-ahead.js'
import type { WorkerPool } from '../repo/worker-pool.js'
import type { RepoConfig } from '../repo/config.js'
import type { SavesetSummary } from '../repo/saveset.js'
import { WarningReporter } from '../save/warning-reporter.js'
import { ProgressPrinter, formatBytes, type ProgressMode } from './progress.js'
import { EXIT_OK, EXIT_SAVE_INTERRUPTED, EXIT_SIGNAL, EXIT_WARNINGS } from './exit-codes.js'
import { parseDuration } from './options.js'
import { listSummaries } from '../repo/saveset.js'
import { chooseReferences } from '../save/references.js'
import type { ObjectCache } from '../cache/object-cache.js'
import { readGeneration } from '../repo/generation.js'
import { hostname } from 'node:os'
import { withLock, lockOptions } from './with-lock.js'
import { native } from '../fs/native.js'
import { startStoreWorkers } from '../repo/store-workers.js'
import { storeWorksInC } from '../repo/native-puts.js'
import { saveReadAhead } from '../save/read-ahead.js'

const usage = `usage: tarshift save [-r SAVEDIR] --subset NAME [--host H] [--files-from FILE|-] [--null] [PATH...]
         [--exclude PATTERN]... [--exclude-from FILE] [--one-file-system] [--compression C]
         [--progress auto|bar|plain|none] [--quiet] [--atime] [--dry-run] [--json]
         [--force-read] [--ignore-inode] [--checkpoint-interval DURATION] [--no-cache]

  --subset NAME         what this backup is of (1-64 of A-Z a-z 0-9 . _ -), e.g. home, root
  --host, --hostname H  host name recorded (default: this host's short name)
  PATH...               paths to save, each walked recursively
  --files-from FILE     read the paths to save from FILE (- = stdin), one a line, taken as
                        given (not walked): find / -xdev -print0 | tarshift save --null --files-from - ...
  --null                the list is NUL-separated (find -print0)
  --exclude PATTERN     skip names or paths matching the shell glob (repeatable)
  --exclude-from FILE   read exclude patterns from FILE, one a line
  --one-file-system     do not descend into other file systems below a PATH
  --compression C       zstd, xz or none (default: the savedir's)
  --progress MODE       auto (bar on a terminal), bar, plain, none
  --quiet               no progress, no notes
  --atime               also record access times
  --dry-run             read and chunk everything, write nothing to the savedir
  --force-read          read every file, even those unchanged since the reference savesets
  --ignore-inode        do not compare inode numbers to detect unchanged files (sshfs, FUSE)
  --checkpoint-interval DURATION
                        write a restorable checkpoint this often (default 5min)
  --no-cache            do not use the local cache ($XDG_CACHE_HOME/tarshift)
  --wait DURATION       wait this long for an exclusive lock (expire) to go, instead of exit 11
  --json                print a summary object on stdout

exit codes: 0 done, 1 done with warnings (unreadable or vanished source files), 2 fatal,
            3 interrupted by SIGINT/SIGTERM after writing a checkpoint
`

/** A failure to read a list of paths (`from`, - for stdin) as the error to report. */
function listError(from: string, e: unknown): unknown {
  if (!isSystemError(e)) return e
  return new TarshiftError('TARSHIFT_SOURCE_LIST', `cannot read --files-from ${from}: ${e.code}`, { path: from, ...(e.syscall ? { syscall: e.syscall } : {}) })
}

function readList(from: string, nul: boolean): Buffer[] {
  let bytes: Buffer
  try {
    bytes = readFileSync(from === '-' ? 0 : from) // --exclude-from -: process.stdin not touched, fd 0 blocking
  } catch (e) {
    throw listError(from, e)
  }
  return splitList(bytes, nul)
}

/**
 * The list on stdin (`--files-from -`), read to its end through process.stdin, which waits for
 * a pipe's writer: `find / -print0 | tarshift save ...` pauses whenever find does. Reading fd 0
 * with readFileSync failed with EAGAIN at the first pause once the pipe was non-blocking (node
 * makes it so when process.stdin is touched; a parent may have too).
 */
async function readStdinList(nul: boolean): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  try {
    for await (const c of process.stdin) chunks.push(c as Buffer)
  } catch (e) {
    throw listError('-', e)
  }
  return splitList(Buffer.concat(chunks), nul)
}

/** Used bytes of the file systems holding the paths: the progress total (backshift's TODO). */
function estimateTotal(paths: Buffer[]): number {
  const seen = new Set<string>()
  let total = 0
  for (const p of paths.slice(0, 1000)) {
    try {
      const s = native.statvfs(p)
      const key = `${s.blocks}:${s.files}:${s.bsize}`
      if (seen.has(key)) continue
      seen.add(key)
      total += (s.blocks - s.bfree) * s.bsize
    } catch {
      // No estimate for a path that is not there: the save itself will warn about it.
    }
  }
  return total
}

/** This host's short name, made safe for a backup id. */
function defaultHost(): string {
  return (hostname().split('.')[0] ?? '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'localhost'
}

const command: Command = {
  summary: 'tarshift save: back up files into a savedir',
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      subset: { type: 'string' },
      host: { type: 'string' },
      hostname: { type: 'string' },
      'files-from': { type: 'string' },
      null: { type: 'boolean' },
      exclude: { type: 'string', multiple: true },
      'exclude-from': { type: 'string' },
      'one-file-system': { type: 'boolean' },
      compression: { type: 'string' },
      progress: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      atime: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      'force-read': { type: 'boolean' },
      'ignore-inode': { type: 'boolean' },
      'checkpoint-interval': { type: 'string' },
      'no-cache': { type: 'boolean' },
      ...lockOptions,
    })
    const subset = checkName('subset', values.subset as string | undefined)
    if (!subset) throw new UsageError('save needs --subset NAME (e.g. --subset home)')
    const host = checkName('host', (values.host ?? values.hostname) as string | undefined)
    const compression = values.compression === undefined ? undefined : codecByName(values.compression as string).name
    const mode = (values.progress ?? 'auto') as ProgressMode
    if (!['auto', 'bar', 'plain', 'none'].includes(mode)) throw new UsageError(`--progress takes auto, bar, plain or none, not "${mode}"`)
    if (values['no-lock'] === true) throw new UsageError('save writes to the savedir and needs its shared lock: --no-lock is only for readers')
    const savedir = savedirFrom(values)
    const from = values['files-from'] as string | undefined
    if (from !== undefined && positionals.length > 0) throw new UsageError('give PATH arguments or --files-from, not both')
    if (from === undefined && positionals.length === 0) throw new UsageError('nothing to save: give PATH arguments or --files-from FILE')
    // isatty, not process.stdin.isTTY: that would set up process.stdin (a non-blocking pipe) now.
    if (from === '-' && isatty(0)) throw new UsageError('--files-from - reads the list from stdin, which is a terminal; pipe find into it')
    const exclude = [...((values.exclude as string[] | undefined) ?? [])]
    if (values['exclude-from'] !== undefined) {
      for (const l of readList(values['exclude-from'] as string, false)) exclude.push(l.toString())
    }
    const config = readConfig(savedir)
    const hostName = host ?? defaultHost()
    const references = chooseReferences(listSummaries(savedir), hostName, subset)
    const oneFileSystem = values['one-file-system'] === true
    const forceRead = values['force-read'] === true
    // The read-ahead thread (native) starts listing while the save's modules are loaded, the
    // list read, the lock taken and the cache opened, instead of after. Hence the save's own
    // modules are imported only now.
    // With a reference, no store worker yet: the first request starts one, the first object to
    // write all of them (WorkerPool.grow). An unchanged save may need none: the reference trees
    // come from the cache's summaries and the claims are checked in C. A worker booted at the
    // start (Node's start-up, ~0.1 s of CPU) took a core from the main thread's module loading,
    // and the save's end waited for its boot: B's unchanged save, warm, 343-360 -> 302-335 ms.
    // Without one, everything is written: with zstd or none, in C (native-puts.ts), which needs
    // no worker; with xz, in the workers, which all boot now, while the modules load, rather
    // than when the first chunk waits for them.
    const writesInWorkers = !storeWorksInC(codecByName(compression ?? config.compression).id)
    const pool = startStoreWorkers(savedir, undefined, undefined, references.length === 0 && writesInWorkers ? Infinity : 0)
    const readAhead = saveReadAhead({ exclude, oneFileSystem, forceRead, references, inlineLimit: config.inlineLimit })
    try {
      return await saveWith(pool, readAhead, { values, positionals, from, mode, savedir, config, subset, hostName, references, exclude, oneFileSystem, forceRead, ...(compression ? { compression } : {}) })
    } finally {
      // The save closed them already, unless something failed before it began.
      await Promise.all([pool.close(), readAhead.close()])
    }
  },
}
export default command

/** What run() parsed and checked. */
interface SaveArgs {
  values: Record<string, unknown>
  positionals: string[]
  from: string | undefined
  mode: ProgressMode
  savedir: string
  config: RepoConfig
  subset: string
  hostName: string
  references: SavesetSummary[]
  exclude: string[]
  oneFileSystem: boolean
  forceRead: boolean
  compression?: string
}

/** The save itself, with the threads run() started; its modules are loaded only now. */
async function saveWith(pool: WorkerPool, readAhead: ReadAhead, a: SaveArgs): Promise<number> {
  const { values, positionals, from, mode, savedir, config, subset, hostName, references, exclude, oneFileSystem, forceRead, compression } = a
  const [{ save, SaveInterrupted }, { ObjectCache }] = await Promise.all([import('../save/save.js'), import('../cache/object-cache.js')])
  const nul = values.null === true
  const paths = from === '-' ? await readStdinList(nul) : from !== undefined ? readList(from, nul) : positionals.map(p => Buffer.from(p))
  const selection = buildSelection(paths, from === undefined, process.cwd())
  const quiet = values.quiet === true
  const reporter = new WarningReporter(quiet)
  const absolute = paths.map(p => Buffer.from(resolve(p.toString('latin1')), 'latin1'))
  const printer = new ProgressPrinter(quiet ? 'none' : mode, estimateTotal(absolute))
  const checkpointMs = values['checkpoint-interval'] === undefined ? undefined : parseDuration(values['checkpoint-interval'] as string, '--checkpoint-interval')
  if (!quiet && references.length > 0 && mode !== 'none') {
    process.stderr.write(`references: ${references.map(r => r.id + (r.finish ? '' : ' (incomplete)')).join(', ')}\n`)
  }
  // Opened under the lock: an expire that ran while this save waited has bumped the generation.
  let cache = null as ObjectCache | null
  let interrupted = false
  const onSignal = (sig: string): void => {
    if (interrupted) process.exit(EXIT_SIGNAL) // a second signal: stop now
    interrupted = true
    process.stderr.write(`\ntarshift: ${sig}: writing a checkpoint, then stopping (send again to stop at once)\n`)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let r: SaveResult
  try {
    r = await withLock(savedir, 'shared', 'save', values, async lock => {
      cache = await ObjectCache.open(savedir, config.id, readGeneration(savedir), values['no-cache'] === true)
      return save({
        beforeFinish: () => lock?.verify(),
        host: hostName, references, cache,
        forceRead,
        ignoreInode: values['ignore-inode'] === true,
        interrupted: () => interrupted,
        ...(checkpointMs !== undefined ? { checkpointMs } : {}),
        savedir, config, subset, selection, exclude, reporter,
        ...(compression ? { compression } : {}),
        oneFileSystem,
        dryRun: values['dry-run'] === true,
        atime: values.atime === true,
        onProgress: p => printer.update(p),
        pool, readAhead,
      })
    })
  } catch (e) {
    printer.done()
    if (e instanceof SaveInterrupted) {
      process.stderr.write(`tarshift: ${e.message}\n`)
      return EXIT_SAVE_INTERRUPTED
    }
    throw e
  } finally {
    await cache?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  printer.done()
  const s = r.summary
  if (values.json === true) {
    process.stdout.write(JSON.stringify({
      id: s.id, host: s.host, subset: s.subset, files: s.files, dirs: s.dirs, bytesTotal: s.bytesTotal,
      bytesRead: s.bytesRead, bytesNew: s.bytesNew, objectsNew: r.objectsNew, filesRead: r.filesRead, filesReused: r.filesReused, checkpoints: r.checkpoints,
      treesFromSummaries: r.treesFromSummaries, treesRead: r.treesRead,
      warnings: s.warnings, references: s.references, seconds: r.seconds, dryRun: values['dry-run'] === true,
    }) + '\n')
  } else if (!quiet) {
    process.stderr.write(`${values['dry-run'] ? 'dry run, nothing written: ' : ''}saved ${s.id}: ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytesTotal)}, ${formatBytes(s.bytesNew)} new in ${r.objectsNew} objects, ${r.seconds.toFixed(1)} s${s.warnings ? `, ${s.warnings} warnings` : ''}\n`)
  }
  if (s.warnings > 0) {
    process.stderr.write(`tarshift: ${s.warnings} warning${s.warnings > 1 ? 's' : ''}: some files were not saved or saved as they changed (see above; tarshift list --warnings ${s.id})\n`)
    return EXIT_WARNINGS
  }
  return EXIT_OK
}
