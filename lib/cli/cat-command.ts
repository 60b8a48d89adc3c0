import type { Command } from './main.js'
import { parse, savedirFrom } from './options.js'
import { filterFrom, readerOptions } from './reader-options.js'
import { withLock } from './with-lock.js'
import type { OptionSpec } from './options.js'
import { TarshiftError, UsageError } from '../errors.js'
import { openSaveset } from '../restore/open-saveset.js'
import { lookup, savedComponents } from '../restore/saveset-walk.js'
import { EntryType, type ChunkRef } from '../tree/entry.js'
import { pieceOf } from '../tree/piece.js'
import { OutputSink } from '../restore/output-sink.js'
import { showPath } from '../restore/show-path.js'

const READ_AHEAD = 8

const OPTIONS: OptionSpec = readerOptions

const command: Command = {
  summary: 'tarshift cat: write one saved file to stdout, verified',
  usage: `usage: tarshift cat [-r SAVEDIR] BACKUP FILE [--host H] [--subset S]

  FILE      a saved regular file, e.g. /etc/fstab
  --wait DURATION       wait for an exclusive lock (expire) to go instead of exiting 11
  --no-lock             take no lock (a read-only savedir)
`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS)
    return withLock(savedirFrom(values), 'shared', 'cat', values, () => runLocked(argv))
  },
}
export default command

async function runLocked(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  const [spec, file, ...extra] = positionals
  if (spec === undefined || file === undefined || extra.length > 0) throw new UsageError('cat needs BACKUP and one FILE')
  const s = openSaveset(savedirFrom(values), spec, filterFrom(values))
  try {
    const comps = savedComponents(file)
    const e = await lookup(s.store, s.root, comps)
    if (!e || e.type !== EntryType.File) {
      throw new TarshiftError('TARSHIFT_NOT_A_FILE', `not a regular file in the saveset: ${showPath(Buffer.from(file))}`)
    }
    const out = new OutputSink(process.stdout)
    if (e.data) await out.write(e.data)
    const chunks = e.chunks ?? []
    const fetch = (c: ChunkRef): Promise<Buffer> => {
      const hex = c.hash.toString('hex')
      const p = s.store.get(hex).then(({ data }) => pieceOf(s.store.savedir, hex, data, c))
      p.catch(() => undefined) // awaited in order below
      return p
    }
    const pending = chunks.slice(0, READ_AHEAD).map(fetch)
    for (let i = 0; i < chunks.length; i++) {
      const next = chunks[i + READ_AHEAD]
      if (next) pending.push(fetch(next))
      const p = pending[i] as Promise<Buffer>
      pending[i] = undefined as never
      await out.write(await p)
    }
    await out.end()
    return 0
  } finally {
    await s.store.close()
  }
}
