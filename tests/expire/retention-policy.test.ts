// The retention policy (lib/expire/retention-policy.ts, DESIGN.md §4) is a pure function:
// summaries in, keep/remove with reasons out. Table-driven: each case lists savesets by a short
// label (the id), their start time and whether they completed, the rules, and which labels
// stay. Hand-computed expectations; buckets are UTC, weeks are ISO weeks (Monday first).
import t from 'tap'
import { decideRetention, hasRule, type Decision, type RetentionRules } from '../../lib/expire/retention-policy.js'
import type { SavesetSummary } from '../../lib/repo/saveset.js'

const NOW = new Date('2026-06-15T12:00:00.000Z') // a Monday
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

/** One saveset of a case: [id, start (ISO or ms before NOW), completed?, host, subset]. */
type Row = [id: string, start: string | number, complete?: boolean, host?: string, subset?: string]

function summary([id, start, complete = true, host = 'h1', subset = 'home']: Row): SavesetSummary {
  const startMs = typeof start === 'number' ? NOW.getTime() - start : Date.parse(start)
  if (Number.isNaN(startMs)) throw new Error(`bad start ${String(start)}`)
  return {
    id, host, subset,
    start: new Date(startMs).toISOString(),
    finish: complete ? new Date(startMs + 5 * MIN).toISOString() : null,
    checkpoint: complete ? null : new Date(startMs + MIN).toISOString(),
    root: 'ab'.repeat(32),
    files: 1, dirs: 1, bytesTotal: 0, bytesRead: 0, bytesNew: 0, warnings: 0, warningsRef: null, references: [], version: 1,
  }
}

interface Case {
  name: string
  rows: Row[]
  rules: RetentionRules
  keep: string[]
  /** Per id: a pattern every listed saveset's reasons must match (joined with '; '). */
  reasons?: Record<string, RegExp>
}

const cases: Case[] = [
  {
    name: 'keep-last 2 keeps the two newest completed',
    rows: [['a', 1 * DAY], ['b', 2 * DAY], ['c', 3 * DAY], ['d', 4 * DAY]],
    rules: { keepLast: 2 },
    keep: ['a', 'b'],
    reasons: { a: /within --keep-last/, b: /within --keep-last/, c: /^no rule keeps it$/, d: /^no rule keeps it$/ },
  },
  {
    name: 'keep-last 0 still keeps the newest completed saveset',
    rows: [['a', 1 * DAY], ['b', 2 * DAY]],
    rules: { keepLast: 0 },
    keep: ['a'],
    reasons: { a: /newest completed saveset of its host and subset/ },
  },
  {
    name: 'keep-last larger than the count keeps everything',
    rows: [['a', 1 * DAY], ['b', 2 * DAY]],
    rules: { keepLast: 10 },
    keep: ['a', 'b'],
  },
  {
    name: 'keep-hourly 3: the newest of each of the 3 newest hours that have a saveset',
    rows: [
      ['h1150', '2026-06-15T11:50:00.000Z'], ['h1110', '2026-06-15T11:10:00.000Z'],
      ['h1040', '2026-06-15T10:40:00.000Z'], ['h1005', '2026-06-15T10:05:00.000Z'],
      ['h0930', '2026-06-15T09:30:00.000Z'], ['h0859', '2026-06-15T08:59:59.999Z'],
    ],
    rules: { keepHourly: 3 },
    keep: ['h1150', 'h1040', 'h0930'],
    reasons: { h1040: /hourly 2026-06-15T10/, h0930: /hourly 2026-06-15T09/ },
  },
  {
    name: 'keep-hourly: 10:59:59.999 and 11:00:00.000 are different hours',
    rows: [['a', '2026-06-15T11:00:00.000Z'], ['b', '2026-06-15T10:59:59.999Z'], ['c', '2026-06-15T10:00:00.000Z']],
    rules: { keepHourly: 2 },
    keep: ['a', 'b'],
  },
  {
    name: 'keep-daily 2: the newest saveset of each of the 2 newest days',
    rows: [
      ['d15b', '2026-06-15T10:00:00.000Z'], ['d15a', '2026-06-15T08:00:00.000Z'],
      ['d14b', '2026-06-14T23:00:00.000Z'], ['d14a', '2026-06-14T01:00:00.000Z'],
      ['d13', '2026-06-13T12:00:00.000Z'],
    ],
    rules: { keepDaily: 2 },
    keep: ['d15b', 'd14b'],
    reasons: { d15b: /daily 2026-06-15/, d14b: /daily 2026-06-14/ },
  },
  {
    name: 'keep-daily counts days that have a saveset, not calendar days back from now',
    rows: [['x', '2026-06-15T01:00:00.000Z'], ['y', '2026-06-10T01:00:00.000Z'], ['z', '2026-06-01T01:00:00.000Z']],
    rules: { keepDaily: 2 },
    keep: ['x', 'y'],
  },
  {
    name: 'keep-weekly 2: ISO weeks (Monday to Sunday)',
    rows: [
      ['mon15', '2026-06-15T09:00:00.000Z'], // W25
      ['sun14', '2026-06-14T09:00:00.000Z'], // W24
      ['sat13', '2026-06-13T09:00:00.000Z'], // W24
      ['mon08', '2026-06-08T09:00:00.000Z'], // W24
      ['sun07', '2026-06-07T09:00:00.000Z'], // W23
    ],
    rules: { keepWeekly: 2 },
    keep: ['mon15', 'sun14'],
    reasons: { mon15: /weekly 2026-W25/, sun14: /weekly 2026-W24/ },
  },
  {
    name: 'keep-weekly across a year end: 2025-12-29 and 2026-01-01 are both in 2026-W01',
    rows: [
      ['jan05', '2026-01-05T09:00:00.000Z'], // 2026-W02
      ['jan01', '2026-01-01T09:00:00.000Z'], // 2026-W01
      ['dec29', '2025-12-29T09:00:00.000Z'], // 2026-W01
      ['dec28', '2025-12-28T09:00:00.000Z'], // 2025-W52
      ['dec21', '2025-12-21T09:00:00.000Z'], // 2025-W51
    ],
    rules: { keepWeekly: 3 },
    keep: ['jan05', 'jan01', 'dec28'],
    reasons: { jan01: /weekly 2026-W01/, dec28: /weekly 2025-W52/ },
  },
  {
    name: 'keep-monthly 3',
    rows: [
      ['jun10', '2026-06-10T00:00:00.000Z'], ['jun01', '2026-06-01T00:00:00.000Z'],
      ['may31', '2026-05-31T23:59:59.999Z'], ['may01', '2026-05-01T00:00:00.000Z'],
      ['apr15', '2026-04-15T00:00:00.000Z'], ['mar20', '2026-03-20T00:00:00.000Z'],
    ],
    rules: { keepMonthly: 3 },
    keep: ['jun10', 'may31', 'apr15'],
    reasons: { may31: /monthly 2026-05/, apr15: /monthly 2026-04/ },
  },
  {
    name: 'keep-yearly 2',
    rows: [
      ['y26b', '2026-03-01T00:00:00.000Z'], ['y26a', '2026-01-01T00:00:00.000Z'],
      ['y25b', '2025-12-31T23:00:00.000Z'], ['y25a', '2025-06-01T00:00:00.000Z'], ['y24', '2024-01-01T00:00:00.000Z'],
    ],
    rules: { keepYearly: 2 },
    keep: ['y26b', 'y25b'],
    reasons: { y25b: /yearly 2025/ },
  },
  {
    name: 'max-age 30d keeps what started less than 30 days ago (exactly 30 days: goes)',
    rows: [['a', 1 * DAY], ['b', 10 * DAY], ['c', 30 * DAY - 1], ['d', 30 * DAY], ['e', 100 * DAY]],
    rules: { maxAgeMs: 30 * DAY },
    keep: ['a', 'b', 'c'],
    reasons: { b: /younger than --max-age/, c: /younger than --max-age/, d: /no rule keeps it/ },
  },
  {
    name: 'max-age: ages count from the start, not the finish',
    // 'long' started 31 days ago and finished 1 day ago (adjust() below rewrites its finish).
    rows: [['new', 1 * HOUR], ['long', 31 * DAY]],
    rules: { maxAgeMs: 30 * DAY },
    keep: ['new'],
  },
  {
    name: 'max-age older than everything still keeps the newest completed',
    rows: [['a', 400 * DAY], ['b', 500 * DAY]],
    rules: { maxAgeMs: 365 * DAY },
    keep: ['a'],
    reasons: { a: /newest completed/, b: /no rule keeps it/ },
  },
  {
    name: 'rules combine as a union: a saveset stays if any rule keeps it',
    rows: [
      ['n0', 1 * HOUR], ['n1', 2 * DAY], ['n2', 10 * DAY], ['n3', '2026-04-20T00:00:00.000Z'],
      ['n4', '2026-04-10T00:00:00.000Z'], ['n5', '2026-03-05T00:00:00.000Z'], ['n6', '2026-02-01T00:00:00.000Z'],
    ],
    // keep-last 1 → n0; max-age 7d → n0, n1; keep-monthly 3 → newest of June (n0), May (none),
    // April (n3), March (n5).
    rules: { keepLast: 1, maxAgeMs: 7 * DAY, keepMonthly: 3 },
    keep: ['n0', 'n1', 'n3', 'n5'],
    reasons: {
      n0: /^(?=.*newest completed)(?=.*within --keep-last)(?=.*younger than --max-age)(?=.*monthly 2026-06)/,
      n1: /^younger than --max-age$/,
      n3: /^monthly 2026-04$/,
      n5: /^monthly 2026-03$/,
    },
  },
  {
    name: 'one saveset kept by several bucket rules lists every reason',
    rows: [['a', 1 * HOUR], ['b', 40 * DAY]],
    rules: { keepDaily: 1, keepWeekly: 1, keepMonthly: 1, keepYearly: 1 },
    keep: ['a'],
    reasons: { a: /^(?=.*daily 2026-06-15)(?=.*weekly 2026-W25)(?=.*monthly 2026-06)(?=.*yearly 2026)/ },
  },
  {
    name: 'keep rules count per (host, subset) group',
    rows: [
      ['h1home1', 1 * DAY, true, 'h1', 'home'], ['h1home2', 2 * DAY, true, 'h1', 'home'],
      ['h1root1', 3 * DAY, true, 'h1', 'root'], ['h1root2', 4 * DAY, true, 'h1', 'root'],
      ['h2home1', 5 * DAY, true, 'h2', 'home'], ['h2home2', 6 * DAY, true, 'h2', 'home'],
    ],
    rules: { keepLast: 1 },
    keep: ['h1home1', 'h1root1', 'h2home1'],
  },
  {
    name: 'bucket counting is per group too',
    rows: [
      ['a1', '2026-06-15T01:00:00.000Z', true, 'a'], ['a2', '2026-06-14T01:00:00.000Z', true, 'a'], ['a3', '2026-06-13T01:00:00.000Z', true, 'a'],
      ['b1', '2026-06-10T01:00:00.000Z', true, 'b'], ['b2', '2026-06-09T01:00:00.000Z', true, 'b'], ['b3', '2026-06-08T01:00:00.000Z', true, 'b'],
    ],
    rules: { keepDaily: 2 },
    keep: ['a1', 'a2', 'b1', 'b2'],
  },
  {
    name: '--host selects: other hosts stay untouched',
    rows: [
      ['a1', 1 * DAY, true, 'a'], ['a2', 2 * DAY, true, 'a'], ['a3', 3 * DAY, true, 'a'],
      ['b1', 1 * DAY, true, 'b'], ['b2', 2 * DAY, true, 'b'], ['b3', 3 * DAY, false, 'b'],
    ],
    rules: { keepLast: 1, host: 'a' },
    keep: ['a1', 'b1', 'b2', 'b3'],
    reasons: { b1: /^not selected by --host\/--subset$/, b2: /^not selected/, b3: /^not selected/, a2: /no rule keeps it/ },
  },
  {
    name: '--subset selects: other subsets stay untouched',
    rows: [
      ['home1', 1 * DAY, true, 'h', 'home'], ['home2', 2 * DAY, true, 'h', 'home'],
      ['etc1', 1 * DAY, true, 'h', 'etc'], ['etc2', 2 * DAY, true, 'h', 'etc'],
    ],
    rules: { keepLast: 1, subset: 'etc' },
    keep: ['home1', 'home2', 'etc1'],
  },
  {
    name: '--host and --subset together select their intersection',
    rows: [
      ['ah1', 1 * DAY, true, 'a', 'home'], ['ah2', 2 * DAY, true, 'a', 'home'],
      ['ae1', 1 * DAY, true, 'a', 'etc'], ['ae2', 2 * DAY, true, 'a', 'etc'],
      ['bh1', 1 * DAY, true, 'b', 'home'], ['bh2', 2 * DAY, true, 'b', 'home'],
    ],
    rules: { keepLast: 1, host: 'a', subset: 'home' },
    keep: ['ah1', 'ae1', 'ae2', 'bh1', 'bh2'],
  },
  {
    name: 'keep-last counts completed savesets only',
    rows: [
      ['i1', 1 * HOUR, false], // newer than every completed one: stays
      ['c1', 1 * DAY], ['i2', 2 * DAY, false], ['c2', 3 * DAY], ['c3', 4 * DAY],
    ],
    rules: { keepLast: 2 },
    keep: ['i1', 'c1', 'c2'],
    reasons: {
      i1: /^incomplete, no newer completed saveset yet$/,
      i2: /^incomplete, a newer completed saveset exists$/,
      c3: /^no rule keeps it$/,
    },
  },
  {
    name: 'an incomplete saveset does not take a daily bucket',
    rows: [
      ['c15', '2026-06-15T01:00:00.000Z'], ['i14', '2026-06-14T20:00:00.000Z', false],
      ['c14', '2026-06-14T10:00:00.000Z'], ['c13', '2026-06-13T10:00:00.000Z'],
    ],
    rules: { keepDaily: 2 },
    keep: ['c15', 'c14'],
  },
  {
    name: 'an incomplete saveset goes once a newer completed one exists, even within --max-age',
    rows: [['c', 1 * HOUR], ['i', 2 * HOUR, false], ['old', 50 * DAY]],
    rules: { maxAgeMs: 30 * DAY },
    keep: ['c'],
    reasons: { i: /incomplete, a newer completed saveset exists/ },
  },
  {
    name: 'incomplete savesets with no completed one in their group all stay',
    rows: [['i1', 1 * DAY, false], ['i2', 20 * DAY, false], ['other', 30 * DAY, true, 'h1', 'etc']],
    rules: { keepLast: 0, maxAgeMs: HOUR },
    keep: ['i1', 'i2', 'other'],
    reasons: { i1: /no newer completed saveset yet/, i2: /no newer completed saveset yet/, other: /newest completed/ },
  },
  {
    name: 'the newest completed stays even when only incomplete savesets are newer',
    rows: [['i1', 1 * HOUR, false], ['i2', 2 * HOUR, false], ['c1', 90 * DAY], ['c2', 91 * DAY]],
    rules: { maxAgeMs: DAY },
    keep: ['i1', 'i2', 'c1'],
  },
  {
    name: 'equal start times: the order (and so the choice) is decided by id',
    rows: [['x-b', '2026-06-10T00:00:00.000Z'], ['x-a', '2026-06-10T00:00:00.000Z'], ['x-c', '2026-06-09T00:00:00.000Z']],
    rules: { keepLast: 1 },
    keep: ['x-b'],
  },
]

// The "ages count from the start" case: finish 1 day ago although it started 31 days ago.
function adjust(c: Case, s: SavesetSummary): SavesetSummary {
  if (c.name.startsWith('max-age: ages count from the start') && s.id === 'long') {
    return { ...s, finish: new Date(NOW.getTime() - DAY).toISOString() }
  }
  return s
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}

for (const c of cases) {
  t.test(c.name, async t => {
    const input = deepFreeze(c.rows.map(r => adjust(c, summary(r))))
    const before = JSON.stringify(input)
    // Shuffled input gives the same decisions: the policy sorts by time itself.
    const decisions = decideRetention(input, c.rules, NOW)
    const reversed = decideRetention([...input].reverse(), c.rules, NOW)

    t.equal(decisions.length, input.length, 'one decision per saveset')
    t.same(decisions.map(d => d.summary.id), input.map(s => s.id), 'decisions come in input order')
    t.ok(decisions.every((d, i) => d.summary === input[i]), 'each decision carries the input summary itself')
    t.equal(JSON.stringify(input), before, 'input not modified')

    const kept = decisions.filter(d => d.keep).map(d => d.summary.id).sort()
    t.same(kept, [...c.keep].sort(), 'kept savesets')
    const keptRev = reversed.filter(d => d.keep).map(d => d.summary.id).sort()
    t.same(keptRev, [...c.keep].sort(), 'same result for the input reversed')

    for (const d of decisions) {
      t.ok(d.reasons.length > 0 && d.reasons.every(r => typeof r === 'string' && r.length > 0), `${d.summary.id} has reasons`)
    }
    for (const [id, re] of Object.entries(c.reasons ?? {})) {
      const d = decisions.find(x => x.summary.id === id) as Decision
      t.match(d.reasons.join('; '), re, `${id}: reasons`)
    }
  })
}

t.test('decisions depend on `now` only through --max-age', async t => {
  const input = [summary(['a', 1 * DAY]), summary(['b', 10 * DAY]), summary(['c', 20 * DAY])]
  const rules = { maxAgeMs: 15 * DAY }
  const at = (ms: number): string[] => decideRetention(input, rules, new Date(NOW.getTime() + ms)).filter(d => d.keep).map(d => d.summary.id)
  t.same(at(0), ['a', 'b'])
  t.same(at(6 * DAY), ['a'], 'six days later b is 16 days old')
  const keep = { keepLast: 2 }
  t.same(decideRetention(input, keep, new Date(0)).filter(d => d.keep).map(d => d.summary.id),
    decideRetention(input, keep, new Date(8.64e15)).filter(d => d.keep).map(d => d.summary.id), 'keep-last ignores now')
})

t.test('empty input: no decisions', async t => {
  t.same(decideRetention([], { keepLast: 1 }, NOW), [])
})

t.test('hasRule: some --max-age or --keep-* is needed; --host/--subset alone are no rule', async t => {
  const table: Array<[RetentionRules, boolean]> = [
    [{}, false],
    [{ host: 'a' }, false],
    [{ subset: 'home', host: 'a' }, false],
    [{ keepLast: 0 }, true],
    [{ maxAgeMs: 0 }, true],
    [{ keepHourly: 1 }, true],
    [{ keepDaily: 1 }, true],
    [{ keepWeekly: 1 }, true],
    [{ keepMonthly: 1 }, true],
    [{ keepYearly: 1 }, true],
  ]
  for (const [rules, want] of table) t.equal(hasRule(rules), want, JSON.stringify(rules))
})
