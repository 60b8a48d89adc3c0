import type { Command } from './main.js'
import { parse, savedirFrom } from './options.js'
import { filterFrom, readerOptions } from './reader-options.js'
import { withLock } from './with-lock.js'
import type { OptionSpec } from './options.js'
import { TarshiftError, UsageError } from '../errors.js'
import { openSaveset } from '../restore/open-saveset.js'
import { resolveBackup, listSummaries } from '../repo/saveset.js'
import { lookup, savedComponents } from '../restore/saveset-walk.js'
import { diffEntries, diffTrees } from '../restore/tree-diff.js'
import type { Entry } from '../tree/entry.js'
import { showPath } from '../restore/show-path.js'
import { OutputSink } from '../restore/output-sink.js'

const SIGN = { added: '+', removed: '-', modified: 'M' } as const

const OPTIONS: OptionSpec = { ...readerOptions, json: { type: 'boolean' } }

const command: Command = {
  summary: 'tarshift diff: what changed between two savesets',
  usage: `usage: tarshift diff [-r SAVEDIR] BACKUP1 BACKUP2 [PATH] [--json] [--host H] [--subset S]

Lines: "+ path" added, "- path" removed, "M path (content, mode, ...)" modified.
Exits 0 whether or not there are differences.
  --wait DURATION       wait for an exclusive lock (expire) to go instead of exiting 11
  --no-lock             take no lock (a read-only savedir)
`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS)
    return withLock(savedirFrom(values), 'shared', 'diff', values, () => runLocked(argv))
  },
}
export default command

async function runLocked(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  const [spec1, spec2, path, ...extra] = positionals
  if (spec1 === undefined || spec2 === undefined || extra.length > 0) throw new UsageError('diff needs BACKUP1 BACKUP2 [PATH]')
  const savedir = savedirFrom(values)
  const filter = filterFrom(values)
  const a = openSaveset(savedir, spec1, filter)
  const bSummary = resolveBackup(listSummaries(savedir), spec2, filter)
  if (!bSummary.root) throw new TarshiftError('TARSHIFT_UNKNOWN_BACKUP', `saveset ${bSummary.id} has no checkpoint yet`)
  const out = new OutputSink(process.stdout)
  try {
    const comps = path === undefined ? [] : savedComponents(path)
    const base = Buffer.concat(comps.flatMap((c, i) => (i ? [Buffer.from('/'), c] : [c])))
    const entryAt = async (root: Buffer): Promise<Entry | null> => {
      try {
        return await lookup(a.store, root, comps)
      } catch (e) {
        if (e instanceof TarshiftError && e.code === 'TARSHIFT_NO_SUCH_PATH') return null
        throw e
      }
    }
    const ea = comps.length ? await entryAt(a.root) : null
    const eb = comps.length ? await entryAt(Buffer.from(bSummary.root, 'hex')) : null
    if (comps.length && !ea && !eb) throw new TarshiftError('TARSHIFT_NO_SUCH_PATH', `no such path in either saveset: /${showPath(base)}`)
    let n = 0
    // A PATH is compared itself (its own metadata too), then below it.
    const items = comps.length > 0 ? diffEntries(a.store, ea, eb, base) : diffTrees(a.store, a.root, Buffer.from(bSummary.root, 'hex'), base)
    for await (const d of items) {
      n++
      const p = '/' + showPath(d.path)
      const line = values.json === true
        ? JSON.stringify({ change: d.change, path: p, ...(d.what.length ? { what: d.what } : {}) })
        : `${SIGN[d.change]} ${p}${d.what.length ? ` (${d.what.join(', ')})` : ''}`
      await out.write(Buffer.from(line + '\n'))
    }
    await out.end()
    if (values.json !== true) process.stderr.write(`${n} difference${n === 1 ? '' : 's'} between ${a.summary.id} and ${bSummary.id}\n`)
    return 0
  } finally {
    await a.store.close()
  }
}
