// tarshift check: parse the options, take the shared lock (exclusive with --repair), run
// lib/check, print its report as lines or one JSON object; exit 2 when it found errors.
import type { Command } from './main.js'
import { parse, savedirFrom } from './options.js'
import { withLock, lockOptions } from './with-lock.js'
import { EXIT_FATAL, EXIT_OK } from './exit-codes.js'
import { UsageError } from '../errors.js'
import { readConfig } from '../repo/config.js'
import { ObjectStore } from '../repo/object-store.js'
import { check, type CheckOptions } from '../check/check.js'
import type { CheckReport } from '../check/findings.js'
import { formatBytes } from './progress.js'

const command: Command = {
  summary: 'tarshift check: verify the savedir (structure; --read-data reads every chunk back)',
  usage: `usage: tarshift check [-r SAVEDIR] [--read-data | --read-data-subset PERCENT] [--repair] [--json]
         [--no-lock] [--wait DURATION]

  (no option)               parse every saveset summary, read every tree of every saveset (each
                            distinct tree once) and check that every chunk they name exists
  --read-data               also read every chunk back and verify its SHA-256
  --read-data-subset P      the same for a random P% of the distinct chunks (10 or 10%)
  --repair                  move corrupt objects (trees; chunks found by --read-data) to
                            SAVEDIR/quarantine/ so that the next save stores them again, and say
                            which savesets lost what (takes the exclusive lock)
  --json                    print one JSON object: {errors, info, savesets, trees, chunks, ...}

Leftovers of crashes (temporaries, stale locks, incomplete savesets, unreferenced objects) are
reported as information, not errors: expire, unlock and the next save deal with them.
exit codes: 0 no errors, 2 errors found (also after --repair: the savesets it names stay damaged
until a save stores the data again), 11 savedir locked
`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      'read-data': { type: 'boolean' }, 'read-data-subset': { type: 'string' }, repair: { type: 'boolean' },
      json: { type: 'boolean' }, ...lockOptions,
    })
    if (positionals.length > 0) throw new UsageError(`check takes no arguments, not "${positionals[0]}"; see --help`)
    const subset = values['read-data-subset'] as string | undefined
    if (subset !== undefined && values['read-data'] === true) throw new UsageError('give --read-data or --read-data-subset, not both')
    const repair = values.repair === true
    const opts: Omit<CheckOptions, 'ownLock'> = subset !== undefined
      ? { readData: 'subset', percent: parsePercent(subset, '--read-data-subset'), repair }
      : { readData: values['read-data'] === true ? 'all' : 'none', repair }
    const json = values.json === true
    const savedir = savedirFrom(values)
    const config = readConfig(savedir)
    return withLock(savedir, repair ? 'exclusive' : 'shared', repair ? 'check --repair' : 'check', values, async lock => {
      const store = new ObjectStore(savedir, config)
      let report: CheckReport
      const progress = readProgress(json)
      try {
        report = await check(savedir, store, { ...opts, ownLock: lock?.file ?? null, ...(progress ? { onReadProgress: progress.update } : {}) })
      } finally {
        progress?.done()
        await store.close()
      }
      process.stdout.write(json ? JSON.stringify(report) + '\n' : render(report))
      return report.errors.length > 0 ? EXIT_FATAL : EXIT_OK
    })
  },
}
export default command

/** PERCENT: a number with an optional %, more than 0 and at most 100 (DESIGN.md §7). */
export function parsePercent(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)%?$/.exec(v.trim())
  const n = m ? Number(m[1]) : NaN
  if (!(n > 0 && n <= 100)) throw new UsageError(`${what}: "${v}" is not a percentage; give a number above 0 and at most 100, e.g. 10 or 10%`)
  return n
}

/** A progress line on stderr while chunks are read back, on a terminal only. */
function readProgress(json: boolean): { update: (p: { read: number; total: number; bytes: number }) => void; done: () => void } | null {
  if (json || !process.stderr.isTTY) return null
  let last = 0
  let shown = false
  return {
    update: p => {
      const now = Date.now()
      if (now - last < 250 && p.read < p.total) return
      last = now
      shown = true
      process.stderr.write(`\rreading data: ${p.read}/${p.total} chunks, ${formatBytes(p.bytes)}\x1b[K`)
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K')
    },
  }
}

function render(r: CheckReport): string {
  const out: string[] = []
  for (const f of r.errors) out.push(`error: ${f.message}`)
  for (const f of r.info) out.push(`info: ${f.message}`)
  if (r.repair) {
    for (const q of r.repair.quarantined) out.push(`repair: moved ${q.what === 'tree' ? 'tree' : q.what === 'warnings' ? 'warnings list' : 'chunk'} ${q.object} to ${q.to}`)
    if (r.repair.generation !== null) out.push(`repair: savedir generation now ${r.repair.generation} (local caches of every host start afresh)`)
    if (r.repair.quarantined.length === 0) out.push('repair: nothing moved to quarantine/ (no corrupt object found)')
  }
  for (const d of r.damaged) {
    const lost = d.lost.map(l => `${l.path ?? '(no path)'} (${l.state} ${l.what === 'warnings' ? 'warnings list' : l.what} ${l.object.slice(0, 12)})`)
    out.push(`damaged: saveset ${d.saveset} lost ${lost.slice(0, 10).join(', ')}${lost.length > 10 ? ` and ${lost.length - 10} more` : ''}`)
  }
  const states = new Set(r.damaged.flatMap(d => d.lost.map(l => l.state)))
  if (states.has('corrupt')) {
    const chunks = r.damaged.some(d => d.lost.some(l => l.state === 'corrupt' && l.what === 'chunk'))
    out.push(`note: tarshift check --repair${chunks ? ' --read-data' : ''} moves the corrupt objects to quarantine/; a save of the same sources then stores them again`)
  }
  if (states.has('missing') || states.has('quarantined')) {
    out.push('note: damaged savesets stay listed; a later save whose sources still hold the same bytes stores them again, and that repairs these savesets too (objects are named by their content)')
  }
  const read = r.readData === 'none' ? '' : `, ${r.chunksRead} read back (${formatBytes(r.bytesRead)}${r.readData === 'subset' ? `, ${r.percent}% subset` : ''})`
  out.push(`checked ${r.savesets} saveset(s), ${r.trees} tree(s), ${r.chunks} chunk(s)${read}`)
  out.push(r.errors.length === 0 ? 'no errors found' : `${r.errors.length} error${r.errors.length === 1 ? '' : 's'} found`)
  return out.join('\n') + '\n'
}
