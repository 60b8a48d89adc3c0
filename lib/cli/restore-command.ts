import { isatty } from 'node:tty'
import type { Command } from './main.js'
import { intOption, parse, parseSize, savedirFrom } from './options.js'
import { filterFrom, readerOptions } from './reader-options.js'
import { withLock } from './with-lock.js'
import type { OptionSpec } from './options.js'
import { TarshiftError, UsageError } from '../errors.js'
import { openSaveset } from '../restore/open-saveset.js'
import { savedComponents, walkPath, type WalkItem } from '../restore/saveset-walk.js'
import { OutputSink } from '../restore/output-sink.js'
import { DEFAULT_READ_AHEAD_BYTES, writeTarStream } from '../restore/tar-stream.js'
import type { TarFormat } from '../restore/tar-member.js'
import { EXIT_FATAL, EXIT_OK } from './exit-codes.js'
import { trimMemoryEvery } from '../fs/memory-trim.js'

const usage = `usage: tarshift restore [-r SAVEDIR] BACKUP [PATH...] [--format pax|gnu|ustar]
         [--strip-components N] [--prefix DIR] [--stop-on-error] [--host H] [--subset S] > out.tar

  BACKUP                a backup id, a unique prefix of one, or latest (with --host / --subset)
  PATH...               saved paths to restore with everything below them (default: all)
  --format F            pax (default: lossless), gnu, ustar
  --strip-components N  drop N leading components from member names
  --prefix DIR          put every member under DIR/
  --stop-on-error       stop at the first damaged file instead of zero-filling it

Writes a tar stream to stdout: tarshift restore -r SAVEDIR latest /home/ann | tar -xpf - -C /
Compare with a live tree: tarshift restore -r SAVEDIR latest | tar --diff -f - -C /
exit codes: 0 done, 2 error (unknown backup or path, damaged data: files named on stderr)
  --wait DURATION       wait for an exclusive lock (expire) to go instead of exiting 11
  --no-lock             take no lock (a read-only savedir)
`

/** True when `inner` is `outer` or lies below it (components compared as bytes). */
function within(inner: Buffer[], outer: Buffer[]): boolean {
  return outer.length <= inner.length && outer.every((c, i) => c.equals(inner[i] as Buffer))
}

/**
 * The PATHs to walk: a PATH equal to or below another one is dropped, since walking it again
 * would write its members twice (a hardlinked file even as a link to itself).
 */
function outermost(comps: Buffer[][]): Buffer[][] {
  return comps.filter((c, i) => !comps.some((o, j) => j !== i && within(c, o) && (o.length < c.length || j < i)))
}

async function* concatWalks(walks: Array<AsyncGenerator<WalkItem>>): AsyncGenerator<WalkItem> {
  for (const w of walks) yield* w
}

const OPTIONS: OptionSpec = {
  ...readerOptions,
  format: { type: 'string' },
  'strip-components': { type: 'string' },
  prefix: { type: 'string' },
  'stop-on-error': { type: 'boolean' },
}

const command: Command = {
  summary: 'tarshift restore: write a saveset (or part of it) as a tar stream to stdout',
  usage,
  async run(argv) {
    const { values } = parse(argv, OPTIONS)
    return withLock(savedirFrom(values), 'shared', 'restore', values, () => runLocked(argv))
  },
}
export default command

/** Ring room beyond the read-ahead window: a chunk started past it, the batch being written. */
const RING_SLACK = 8 * 1024 * 1024

async function runLocked(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  const [spec, ...paths] = positionals
  if (spec === undefined) throw new UsageError('restore needs a BACKUP (an id, a prefix, or latest)')
  const format = (values.format ?? 'pax') as TarFormat
  if (!['pax', 'gnu', 'ustar'].includes(format)) throw new UsageError(`--format takes pax, gnu or ustar, not "${format}"`)
  const strip = intOption(values['strip-components'], '--strip-components') ?? 0
  const prefixArg = values.prefix as string | undefined
  const prefix = prefixArg === undefined ? null : Buffer.from(prefixArg.replace(/^\/+|\/+$/g, ''))
  if (prefix !== null && prefix.length === 0) throw new UsageError('--prefix needs a directory name')
  if (isatty(1)) {
    throw new TarshiftError('TARSHIFT_TERMINAL_OUTPUT', 'refusing to write a tar stream to a terminal; pipe it into tar or redirect it')
  }
  const savedir = savedirFrom(values)
  // As many store workers as cores (the store's default). Four on two cores were faster while
  // each worker waited on its cold reads one at a time (/usr/share: 4.3 -> 3.6 s); since a
  // worker asks the kernel for a whole batch first, two are faster, cold and warm
  // (3.96 -> 3.77 s cold, 3.56 -> 3.06 s warm), and hold ~60 MB less.
  const readAhead = readAheadFromEnv()
  // The chunks read ahead go through the ring shared with the store workers: room for the
  // window, the chunk that may go past it, and the batch being written.
  const s = openSaveset(savedir, spec, filterFrom(values), { ringBytes: (readAhead.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES) + RING_SLACK })
  // Chunk buffers from malloc's arenas, not a mapping each (memory-trim.ts): the read-ahead
  // window bounds how many are alive, and the arenas recycle them.
  const stopTrim = trimMemoryEvery(1000, 'arena')
  try {
    const comps = paths.map(p => savedComponents(p))
    // Resolve every PATH before the first byte goes out: an unknown path is an error (exit 2).
    const { lookup } = await import('../restore/saveset-walk.js')
    for (const c of comps) await lookup(s.store, s.root, c)
    const walks = comps.length === 0 ? [walkPath(s.store, s.root, [], true)] : outermost(comps).map(c => walkPath(s.store, s.root, c, true))
    const r = await writeTarStream(s.store, concatWalks(walks), new OutputSink(process.stdout), {
      format, stripComponents: strip, prefix, stopOnError: values['stop-on-error'] === true,
      ...readAhead,
      report: line => process.stderr.write(`${line}\n`),
    })
    if (r.unrepresentable > 0) {
      process.stderr.write(`tarshift: ${r.unrepresentable} member(s) left out: --format ${format} cannot hold them; use --format pax\n`)
    }
    if (r.damaged > 0) {
      process.stderr.write(`tarshift: ${r.damaged} file(s) damaged in saveset ${s.summary.id}; run tarshift check --read-data\n`)
    }
    return r.damaged > 0 || r.unrepresentable > 0 ? EXIT_FATAL : EXIT_OK
  } finally {
    stopTrim()
    await s.store.close()
  }
}

/** TARSHIFT_RESTORE_READ_AHEAD=SIZE (2M, 512K, bytes): the read-ahead window, memory against speed. */
function readAheadFromEnv(): { readAheadBytes?: number } {
  const v = process.env.TARSHIFT_RESTORE_READ_AHEAD
  return v ? { readAheadBytes: Math.max(1, parseSize(v, 'TARSHIFT_RESTORE_READ_AHEAD')) } : {}
}
