// lib/expire owns expiration: the retention policy (a pure function: summaries in,
// keep/remove with reasons out) and the mark-and-sweep of objects no kept saveset uses.
// This file: the policy (DESIGN.md §4). Keep rules count completed savesets only, per
// (host, subset); the newest completed saveset of each group is never removed; an incomplete
// saveset goes once a newer completed one of its group exists; --max-age and the keep rules
// combine as restic's forget does: a saveset stays if any rule keeps it. Ages count from the
// start time. Buckets (hour, day, week, month, year) are taken in UTC.
import type { SavesetSummary } from '../repo/saveset.js'

export interface RetentionRules {
  maxAgeMs?: number
  keepLast?: number
  keepHourly?: number
  keepDaily?: number
  keepWeekly?: number
  keepMonthly?: number
  keepYearly?: number
  /** Only savesets of this host / subset are considered; all others stay. */
  host?: string
  subset?: string
}

export interface Decision {
  summary: SavesetSummary
  keep: boolean
  reasons: string[]
}

export function hasRule(r: RetentionRules): boolean {
  return r.maxAgeMs !== undefined || [r.keepLast, r.keepHourly, r.keepDaily, r.keepWeekly, r.keepMonthly, r.keepYearly].some(n => n !== undefined)
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
  const day = t.getUTCDay() || 7
  t.setUTCDate(t.getUTCDate() + 4 - day)
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1)
  const week = Math.ceil(((t.getTime() - yearStart) / 86400000 + 1) / 7)
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`
}

const BUCKETS: Array<[keyof RetentionRules, string, (d: Date) => string]> = [
  ['keepHourly', 'hourly', d => d.toISOString().slice(0, 13)],
  ['keepDaily', 'daily', d => d.toISOString().slice(0, 10)],
  ['keepWeekly', 'weekly', isoWeek],
  ['keepMonthly', 'monthly', d => d.toISOString().slice(0, 7)],
  ['keepYearly', 'yearly', d => d.toISOString().slice(0, 4)],
]

export function decideRetention(all: readonly SavesetSummary[], rules: RetentionRules, now: Date): Decision[] {
  const decisions = new Map<string, Decision>()
  const groups = new Map<string, SavesetSummary[]>()
  for (const s of all) {
    const considered = (rules.host === undefined || s.host === rules.host) && (rules.subset === undefined || s.subset === rules.subset)
    decisions.set(s.id, { summary: s, keep: !considered, reasons: considered ? [] : ['not selected by --host/--subset'] })
    if (!considered) continue
    const k = `${s.host}\0${s.subset}`
    const g = groups.get(k) ?? []
    g.push(s)
    groups.set(k, g)
  }
  const keep = (s: SavesetSummary, why: string): void => {
    const d = decisions.get(s.id) as Decision
    d.keep = true
    d.reasons.push(why)
  }
  for (const g of groups.values()) {
    // Newest first.
    const sorted = [...g].sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : a.id < b.id ? 1 : -1))
    const complete = sorted.filter(s => s.finish !== null)
    const newestComplete = complete[0]
    if (newestComplete) keep(newestComplete, 'newest completed saveset of its host and subset')
    for (const s of sorted) {
      if (s.finish !== null) continue
      if (!newestComplete || s.start > newestComplete.start) keep(s, 'incomplete, no newer completed saveset yet')
    }
    if (rules.maxAgeMs !== undefined) {
      for (const s of complete) {
        if (now.getTime() - Date.parse(s.start) < rules.maxAgeMs) keep(s, 'younger than --max-age')
      }
    }
    if (rules.keepLast !== undefined) {
      for (const s of complete.slice(0, rules.keepLast)) keep(s, 'within --keep-last')
    }
    for (const [rule, name, bucketOf] of BUCKETS) {
      const n = rules[rule] as number | undefined
      if (n === undefined) continue
      let last: string | null = null
      let kept = 0
      for (const s of complete) {
        if (kept >= n) break
        const b = bucketOf(new Date(s.start))
        if (b === last) continue
        last = b
        kept++
        keep(s, `${name} ${b}`)
      }
    }
  }
  for (const d of decisions.values()) {
    if (!d.keep) d.reasons.push(d.summary.finish === null ? 'incomplete, a newer completed saveset exists' : 'no rule keeps it')
  }
  return all.map(s => decisions.get(s.id) as Decision)
}
