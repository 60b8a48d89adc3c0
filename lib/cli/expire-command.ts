import type { Command } from './main.js'
import { checkName, intOption, parse, parseDuration, savedirFrom } from './options.js'
import { UsageError } from '../errors.js'
import { readConfig } from '../repo/config.js'
import { ObjectStore } from '../repo/object-store.js'
import { expire } from '../expire/expire.js'
import { hasRule, type RetentionRules } from '../expire/retention-policy.js'
import { withLock, lockOptions } from './with-lock.js'
import { formatBytes } from './progress.js'

const DEFAULT_GRACE_MS = 3600 * 1000

const command: Command = {
  summary: 'tarshift expire: remove old savesets and the objects no remaining saveset uses',
  usage: `usage: tarshift expire [-r SAVEDIR] [--max-age DURATION] [--keep-last N] [--keep-hourly N]
         [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]
         [--host H] [--subset S] [--grace DURATION] [--dry-run] [--json] [--wait DURATION]

  --max-age D        keep savesets younger than D (90d, 12w, 6m, 1y, 36h)
  --keep-last N      keep the N newest completed savesets of each host and subset
  --keep-hourly/daily/weekly/monthly/yearly N
                     keep the newest completed saveset of each of the last N hours/days/... (UTC)
  --host, --subset   only consider savesets of this host / subset
  --grace D          never delete an unused object used less than D ago (default 1h; 0 allowed)
  --dry-run          say what would go; change nothing

A saveset stays if any rule keeps it. The newest completed saveset of each host and subset
always stays; an incomplete one stays until a newer completed one exists.
exit codes: 0 done, 2 error (nothing removed if a tree could not be read), 11 savedir locked
`,
  async run(argv) {
    const { values } = parse(argv, {
      'max-age': { type: 'string' }, 'keep-last': { type: 'string' }, 'keep-hourly': { type: 'string' },
      'keep-daily': { type: 'string' }, 'keep-weekly': { type: 'string' }, 'keep-monthly': { type: 'string' },
      'keep-yearly': { type: 'string' }, host: { type: 'string' }, subset: { type: 'string' },
      grace: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, ...lockOptions,
    })
    const rules: RetentionRules = {}
    if (values['max-age'] !== undefined) rules.maxAgeMs = parseDuration(values['max-age'] as string, '--max-age')
    const ints: Array<[keyof RetentionRules, string]> = [['keepLast', 'keep-last'], ['keepHourly', 'keep-hourly'], ['keepDaily', 'keep-daily'], ['keepWeekly', 'keep-weekly'], ['keepMonthly', 'keep-monthly'], ['keepYearly', 'keep-yearly']]
    for (const [k, o] of ints) {
      const n = intOption(values[o], `--${o}`)
      if (n !== undefined) (rules as Record<string, number>)[k] = n
    }
    const host = checkName('host', values.host as string | undefined)
    const subset = checkName('subset', values.subset as string | undefined)
    if (host) rules.host = host
    if (subset) rules.subset = subset
    if (!hasRule(rules)) throw new UsageError('expire needs a rule: --max-age or --keep-last/hourly/daily/weekly/monthly/yearly N')
    const graceMs = values.grace === undefined ? DEFAULT_GRACE_MS : values.grace === '0' ? 0 : parseDuration(values.grace as string, '--grace')
    const savedir = savedirFrom(values)
    const config = readConfig(savedir)
    const dryRun = values['dry-run'] === true
    return withLock(savedir, 'exclusive', 'expire', values, async () => {
      const store = new ObjectStore(savedir, config)
      try {
        const r = await expire(savedir, store, { rules, graceMs, dryRun })
        if (values.json === true) {
          process.stdout.write(JSON.stringify({
            dryRun,
            savesets: r.decisions.map(d => ({ id: d.summary.id, keep: d.keep, reasons: d.reasons })),
            removedSavesets: r.removed.map(s => s.id),
            objectsRemoved: r.sweep.objects, bytesRemoved: r.sweep.bytes, objectsKept: r.sweep.kept,
            objectsYoung: r.sweep.young, temporariesRemoved: r.sweep.temporaries, treesRead: r.treesRead,
          }) + '\n')
        } else {
          const verb = dryRun ? 'would remove' : 'removed'
          for (const d of r.decisions) process.stdout.write(`${d.keep ? 'keep  ' : dryRun ? 'would remove' : 'remove'} ${d.summary.id}  (${d.reasons.join('; ')})\n`)
          process.stdout.write(`${verb} ${r.removed.length} saveset(s), ${r.sweep.objects} object(s), ${formatBytes(r.sweep.bytes)}; kept ${r.sweep.kept} object(s)${r.sweep.young ? `, ${r.sweep.young} unused but within the grace period` : ''}${r.sweep.temporaries ? `; ${verb} ${r.sweep.temporaries} old temporaries` : ''}\n`)
        }
        return 0
      } finally {
        await store.close()
      }
    })
  },
}
export default command
