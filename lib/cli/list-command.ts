import type { Command } from './main.js'
import { checkName, intOption, parse, savedirFrom } from './options.js'
import { readConfig } from '../repo/config.js'
import { listSummaries, resolveBackup } from '../repo/saveset.js'
import { ObjectStore } from '../repo/object-store.js'
import { formatBytes } from './progress.js'
import { renderTable } from './table.js'

const command: Command = {
  summary: 'tarshift list: list savesets, oldest first',
  usage: `usage: tarshift list [-r SAVEDIR] [--host H] [--subset S] [--last N] [--json] [--warnings BACKUP]

  --host H, --subset S  only savesets of this host / subset
  --last N              only the N most recent
  --json                a JSON array of saveset summaries
  --warnings BACKUP     show the source-file warnings recorded by one save
`,
  async run(argv) {
    const { values } = parse(argv, {
      host: { type: 'string' }, subset: { type: 'string' }, last: { type: 'string' }, json: { type: 'boolean' }, warnings: { type: 'string' },
    })
    const savedir = savedirFrom(values)
    const config = readConfig(savedir)
    const host = checkName('host', values.host as string | undefined)
    const subset = checkName('subset', values.subset as string | undefined)
    const problems: Array<{ file: string; why: string }> = []
    let all = listSummaries(savedir, problems).filter(s => (!host || s.host === host) && (!subset || s.subset === subset))
    if (values.warnings !== undefined) {
      const s = resolveBackup(all, values.warnings as string)
      if (!s.warningsRef) {
        process.stderr.write(`${s.id}: no warnings\n`)
        return 0
      }
      const store = new ObjectStore(savedir, config, { workers: 1 })
      try {
        process.stdout.write((await store.get(s.warningsRef)).data)
      } finally {
        await store.close()
      }
      return 0
    }
    for (const p of problems) process.stderr.write(`tarshift: warning: unreadable saveset summary ${p.file}: ${p.why}; run tarshift check\n`)
    const last = intOption(values.last, '--last')
    if (last !== undefined) all = all.slice(Math.max(0, all.length - last))
    if (values.json === true) {
      process.stdout.write(JSON.stringify(all, null, 1) + '\n')
      return 0
    }
    const rows = all.map(s => [s.id, s.host, s.subset, s.start.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      s.finish ? s.finish.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'INCOMPLETE', String(s.files), formatBytes(s.bytesTotal),
      s.warnings ? String(s.warnings) : ''])
    process.stdout.write(renderTable(['ID', 'HOST', 'SUBSET', 'START', 'FINISH', 'FILES', 'SIZE', 'WARNINGS'], rows, [5, 6, 7]))
    return 0
  },
}
export default command
