import type { Command } from './main.js'
import { parse, savedirFrom } from './options.js'
import { filterFrom, readerOptions } from './reader-options.js'
import { withLock } from './with-lock.js'
import type { OptionSpec } from './options.js'
import { UsageError } from '../errors.js'
import { openSaveset } from '../restore/open-saveset.js'
import { joinRel, lookup, savedComponents, walkTree, type WalkItem } from '../restore/saveset-walk.js'
import { jsonEntry, linkTarget, longLine, memberName } from '../restore/listing.js'
import { EntryType } from '../tree/entry.js'
import { readTree } from '../tree/tree-store.js'
import { OutputSink } from '../restore/output-sink.js'

const OPTIONS: OptionSpec = {
  ...readerOptions,
  recursive: { type: 'boolean', short: 'R' },
  long: { type: 'boolean', short: 'l' },
  json: { type: 'boolean' },
}

const command: Command = {
  summary: 'tarshift ls: list the files of a saveset',
  usage: `usage: tarshift ls [-r SAVEDIR] BACKUP [PATH] [-R] [-l] [--json] [--host H] [--subset S]

  PATH      a saved path (default: /); a directory lists its entries, a file itself
  -R        recurse into directories
  -l        long form, the fields of tar -tv (mode, owner, size, date, name, link)
  --json    one JSON object a line
  --wait DURATION       wait for an exclusive lock (expire) to go instead of exiting 11
  --no-lock             take no lock (a read-only savedir)
`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS)
    return withLock(savedirFrom(values), 'shared', 'ls', values, () => runLocked(argv))
  },
}
export default command

async function runLocked(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  const [spec, path, ...extra] = positionals
  if (spec === undefined) throw new UsageError('ls needs a BACKUP (an id, a prefix, or latest)')
  if (extra.length > 0) throw new UsageError('ls takes one PATH')
  const s = openSaveset(savedirFrom(values), spec, filterFrom(values))
  const out = new OutputSink(process.stdout)
  try {
    const comps = path === undefined ? [] : savedComponents(path)
    const entry = await lookup(s.store, s.root, comps)
    const base = Buffer.concat(comps.flatMap((c, i) => (i ? [Buffer.from('/'), c] : [c])))
    async function* items(): AsyncGenerator<WalkItem> {
      if (entry && entry.type !== EntryType.Dir) {
        yield { path: base, entry }
        return
      }
      const tree = entry ? entry.tree : s.root
      if (!tree) return
      if (values.recursive === true) {
        yield* walkTree(s.store, tree, base)
        return
      }
      for (const e of await readTree(s.store, tree)) yield { path: joinRel(base, e.name), entry: e }
    }
    for await (const it of items()) {
      let line: string
      if (values.json === true) line = JSON.stringify(jsonEntry(it.path, it.entry))
      else if (values.long === true) line = longLine(it.path, it.entry, linkTarget(it.path, it.entry))
      else line = memberName(it.path, it.entry)
      await out.write(Buffer.from(line + '\n'))
    }
    await out.end()
    return 0
  } finally {
    await s.store.close()
  }
}
