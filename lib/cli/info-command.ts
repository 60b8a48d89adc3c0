import type { Command } from './main.js'
import { parse, savedirFrom } from './options.js'
import { readConfig } from '../repo/config.js'
import { listSummaries } from '../repo/saveset.js'
import { objectTotals } from '../repo/savedir-stats.js'
import { formatBytes } from './progress.js'
import { renderTable } from './table.js'

const command: Command = {
  summary: 'tarshift info: savedir totals, deduplication and compression ratios',
  usage: `usage: tarshift info [-r SAVEDIR] [--json]
`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' } })
    const savedir = savedirFrom(values)
    const config = readConfig(savedir)
    const sums = listSummaries(savedir)
    const o = objectTotals(savedir)
    const restoreBytes = sums.reduce((n, s) => n + s.bytesTotal, 0)
    const groups = new Map<string, { host: string; subset: string; savesets: number; complete: number }>()
    for (const s of sums) {
      const k = `${s.host}\0${s.subset}`
      const g = groups.get(k) ?? { host: s.host, subset: s.subset, savesets: 0, complete: 0 }
      g.savesets++
      if (s.finish) g.complete++
      groups.set(k, g)
    }
    const info = {
      savedir,
      id: config.id,
      version: config.version,
      compression: config.compression,
      chunker: config.chunker,
      savesets: sums.length,
      incomplete: sums.filter(s => !s.finish).length,
      objects: o.objects,
      dataObjects: o.dataObjects,
      treeObjects: o.treeObjects,
      storedBytes: o.storedBytes,
      rawBytes: o.rawBytes,
      restoreBytes,
      /** What the savesets would restore, over the unique bytes stored (before compression). */
      dedupRatio: o.rawBytes > 0 ? restoreBytes / o.rawBytes : null,
      compressionRatio: o.storedBytes > 0 ? o.rawBytes / o.storedBytes : null,
      temporaries: o.temporaries,
      unreadableObjects: o.unreadable,
      groups: [...groups.values()],
    }
    if (values.json === true) {
      process.stdout.write(JSON.stringify(info, null, 1) + '\n')
      return 0
    }
    const ratio = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}x`)
    process.stdout.write(`savedir      ${savedir} (id ${config.id}, format ${config.version}, ${config.compression})
savesets     ${info.savesets}${info.incomplete ? ` (${info.incomplete} incomplete)` : ''}
objects      ${o.objects} (${o.dataObjects} data, ${o.treeObjects} trees)${o.temporaries ? `, ${o.temporaries} temporaries` : ''}${o.unreadable ? `, ${o.unreadable} with unreadable headers (run tarshift check)` : ''}
stored       ${formatBytes(o.storedBytes)} on disk, ${formatBytes(o.rawBytes)} uncompressed
restores to  ${formatBytes(restoreBytes)} (all savesets)
dedup        ${ratio(info.dedupRatio)}
compression  ${ratio(info.compressionRatio)}

`)
    process.stdout.write(renderTable(['HOST', 'SUBSET', 'SAVESETS', 'COMPLETE'], info.groups.map(g => [g.host, g.subset, String(g.savesets), String(g.complete)]), [2, 3]))
    return 0
  },
}
export default command
