// tarshift check, the orchestration (DESIGN.md §7): parse every saveset summary, walk their
// trees (walk.ts), optionally read the data back (read-data.ts), name what each damaged object
// costs (tree-graph.ts), scan for leftovers (leftovers.ts), and with --repair move corrupt
// objects to quarantine/ (quarantine.ts). Returns a report; the CLI prints it and picks the
// exit code (errors → 2). Runs under the shared lock, or the exclusive one with --repair.
import { STALE_MS } from '../repo/lock.js'
import type { ObjectStore } from '../repo/object-store.js'
import { SAVESETS_DIR, isObjectName } from '../repo/layout.js'
import { listSummaries, type SavesetSummary, type SummaryProblem } from '../repo/saveset.js'
import { userPairs } from './chunk-users.js'
import { formatAge, formatSize, listSome, plural, showSavedPath } from './describe.js'
import type { CheckReport, Finding, Quarantined, SavesetLoss } from './findings.js'
import { scanLeftovers, type Leftovers } from './leftovers.js'
import { quarantine } from './quarantine.js'
import { pickSubset, readData, type ReadDataProgress, type ReadDataResult } from './read-data.js'
import { childPath } from './tree-graph.js'
import { findUsers, walkSavesets, type ObjectProblem, type WalkResult, type WalkRoot } from './walk.js'

export interface CheckOptions {
  /** Read data chunks back: none, all, or a random `percent` of them. */
  readData: 'none' | 'all' | 'subset'
  percent?: number
  repair: boolean
  /** File name of the lock this check holds (not reported as a leftover). */
  ownLock: string | null
  random?: () => number
  now?: number
  onReadProgress?: (p: ReadDataProgress) => void
}

/** Paths named per finding. */
const PATHS_SHOWN = 5

export async function check(savedir: string, store: ObjectStore, opts: CheckOptions): Promise<CheckReport> {
  const now = opts.now ?? Date.now()
  const errors: Finding[] = []
  const info: Finding[] = []

  // 1. Summaries.
  const bad: SummaryProblem[] = []
  const summaries = listSummaries(savedir, bad)
  for (const p of bad) {
    const file = relative(savedir, p.file)
    errors.push({
      level: 'error', kind: 'bad-summary', file,
      message: `saveset summary ${file} does not parse (${p.why}): that saveset is not listed and cannot be restored; put back a good copy (a mirror's) or move the file away`,
    })
  }
  const roots: WalkRoot[] = []
  const warningsRefs = new Map<string, string[]>()
  for (const s of summaries) checkSummary(s, roots, warningsRefs, errors, info)

  // 2. Trees, and the existence of every chunk they name.
  const walk = await walkSavesets(store, roots)
  const problems: ObjectProblem[] = [...walk.treeProblems.values()]
  for (const h of walk.missingChunks) problems.push({ hash: h, what: 'chunk', state: 'missing', why: 'no such object' })
  const missingWarnings = new Set<string>()
  for (const h of warningsRefs.keys()) {
    if (store.has(h)) continue
    missingWarnings.add(h)
    problems.push({ hash: h, what: 'warnings', state: 'missing', why: 'no such object' })
  }

  // 3. Data read back.
  const read = opts.readData === 'none' ? null : await readBack(store, walk, [...warningsRefs.keys()].filter(h => !missingWarnings.has(h)), opts)
  if (read) problems.push(...read.problems)

  // 4. Who uses each damaged chunk: look again where the walk kept only the first few users.
  const overflowing = new Set(problems.filter(p => p.what === 'chunk' && walk.chunks.get(p.hash)?.overflow).map(p => p.hash))
  if (overflowing.size > 0) {
    for (const [h, users] of await findUsers(store, walk, overflowing)) walk.chunks.setUsers(h, users)
  }

  // 5. Findings for damaged objects, and per saveset what it lost.
  const damage = new Map<string, SavesetLoss['lost']>()
  const lose = (saveset: string, l: SavesetLoss['lost'][number]): void => {
    const cur = damage.get(saveset)
    if (cur) cur.push(l)
    else damage.set(saveset, [l])
  }
  for (const p of problems) {
    const f = objectFinding(walk, warningsRefs, p)
    errors.push(f)
    for (const s of f.savesets ?? []) lose(s, { object: p.hash, what: p.what, state: p.state, path: pathIn(walk, p, s) })
  }
  for (const m of read?.lengths ?? []) {
    const users = describeChunkUsers(walk, m.hash)
    errors.push({
      level: 'error', kind: 'chunk-length', object: m.hash, ...users.fields,
      message: m.slice
        ? `object ${m.hash} holds ${m.got} bytes, but the slices of it that entries use need ${m.want} (wrong trees: a tarshift bug, please report it)${users.text}`
        : `chunk ${m.hash} holds ${m.got} bytes, but the entries that use it say ${m.want} (wrong trees: a tarshift bug, please report it)${users.text}`,
    })
  }

  // 6. Leftovers: everything present that no saveset reaches, temporaries, locks.
  const left = scanLeftovers(savedir, h => walk.trees.has(h) || walk.chunks.has(h) || warningsRefs.has(h), opts.ownLock, now)
  leftoverFindings(left, walk.treeProblems.size > 0, errors, info, now)

  // 7. --repair: corrupt objects to quarantine/.
  const repair = opts.repair ? repairDamage(savedir, walk, problems, damage) : null

  const order = new Map(summaries.map((s, i) => [s.id, i]))
  const damaged = [...damage.entries()]
    .sort((a, b) => (order.get(a[0]) ?? 0) - (order.get(b[0]) ?? 0))
    .map(([saveset, lost]) => ({ saveset, lost }))
  return {
    errors, info,
    savesets: summaries.length,
    incomplete: summaries.filter(s => s.finish === null).length,
    trees: walk.treesRead,
    chunks: walk.chunks.size,
    chunksRead: read?.read ?? 0,
    bytesRead: read?.bytes ?? 0,
    readData: opts.readData,
    percent: opts.readData === 'subset' ? (opts.percent ?? 100) : null,
    unreferenced: left.unreferenced.count,
    temporaries: left.temporariesTotal,
    staleLocks: left.staleLocks.length,
    damaged,
    repair,
  }
}

/** Read back the chosen data chunks (all, or a random subset) and every warnings list. */
async function readBack(store: ObjectStore, walk: WalkResult, warnings: string[], opts: CheckOptions): Promise<ReadDataResult> {
  const missing = new Set(walk.missingChunks)
  const pool = [...walk.chunks.hashes()].filter(h => !missing.has(h)).sort()
  const chosen = opts.readData === 'subset' ? pickSubset(pool, opts.percent ?? 100, opts.random) : pool
  const r = await readData(store, chosen, 'chunk', h => {
    const use = walk.chunks.get(h)
    return use && { exact: use.length, atLeast: use.atLeast }
  }, opts.onReadProgress)
  const w = await readData(store, warnings, 'warnings', () => undefined)
  return { read: r.read, bytes: r.bytes, problems: [...r.problems, ...w.problems], lengths: r.lengths }
}

/**
 * Move the corrupt objects to quarantine/ and mark what the savesets lost as quarantined. A
 * tree that is "corrupt" only in being used as a tree while its bytes are intact and some file
 * uses them as a data chunk stays: moving it would break that file.
 */
function repairDamage(savedir: string, walk: WalkResult, problems: readonly ObjectProblem[], damage: Map<string, SavesetLoss['lost']>): NonNullable<CheckReport['repair']> {
  const movable = problems.filter(p => p.state === 'corrupt' && !(p.verified === true && walk.chunks.has(p.hash)))
  const q = quarantine(savedir, movable.map(p => p.hash))
  const what = new Map(movable.map(p => [p.hash, p.what]))
  const moved = new Set(q.moved.map(m => m.hash))
  for (const lost of damage.values()) for (const l of lost) if (moved.has(l.object)) l.state = 'quarantined'
  const quarantined: Quarantined[] = q.moved.map(m => ({ object: m.hash, what: what.get(m.hash) ?? 'chunk', to: m.to }))
  return { quarantined, generation: q.generation }
}

function relative(savedir: string, p: string): string {
  return p.startsWith(savedir + '/') ? p.slice(savedir.length + 1) : p
}

/** Sanity of one summary; collects its root and warnings object. */
function checkSummary(s: SavesetSummary, roots: WalkRoot[], warningsRefs: Map<string, string[]>, errors: Finding[], info: Finding[]): void {
  const file = `${SAVESETS_DIR}/${s.id}.json`
  if (s.finish === null) {
    info.push({
      level: 'info', kind: 'incomplete-saveset', file, savesets: [s.id],
      message: `incomplete saveset ${s.id} (host ${s.host}, subset ${s.subset}, started ${s.start}, ${s.root ? `restorable as far as it got${s.checkpoint ? `, last checkpoint ${s.checkpoint}` : ''}` : 'no checkpoint yet: nothing to restore'}): a save still running or one interrupted; the next save of this subset continues from it, and expire removes it once a newer saveset completes`,
    })
  }
  if (s.root === null || s.root === undefined) {
    if (s.finish !== null) {
      errors.push({ level: 'error', kind: 'bad-root', file, savesets: [s.id], message: `completed saveset ${s.id} names no root tree (${file}): it cannot be restored` })
    }
  } else if (typeof s.root !== 'string' || !isObjectName(s.root)) {
    errors.push({ level: 'error', kind: 'bad-root', file, savesets: [s.id], message: `saveset ${s.id} names an invalid root tree ${JSON.stringify(s.root)} (${file}): it cannot be restored` })
  } else {
    roots.push({ saveset: s.id, root: s.root })
  }
  const w = s.warningsRef
  if (w === null || w === undefined) return
  if (typeof w !== 'string' || !isObjectName(w)) {
    errors.push({ level: 'error', kind: 'bad-summary', file, savesets: [s.id], message: `saveset ${s.id} names an invalid warnings object ${JSON.stringify(w)} (${file}): list --warnings cannot show them` })
    return
  }
  const l = warningsRefs.get(w)
  if (l) l.push(s.id)
  else warningsRefs.set(w, [s.id])
}

/** The savesets and paths that use a chunk: JSON fields and a phrase for the message. */
function describeChunkUsers(walk: WalkResult, hash: string): { fields: Pick<Finding, 'savesets' | 'paths' | 'morePaths'>; text: string } {
  const use = walk.chunks.get(hash)
  const savesets = new Set<string>()
  const paths: string[] = []
  let more = false
  for (const [tree, name] of userPairs(use?.users ?? [])) {
    for (const s of walk.graph.savesetsOf(tree)) savesets.add(s)
    const above = walk.graph.pathsOf(tree)
    if (above.more) more = true
    for (const p of above.paths) {
      const full = showSavedPath(childPath(p, name))
      if (paths.includes(full)) continue
      if (paths.length >= PATHS_SHOWN) more = true
      else paths.push(full)
    }
  }
  const ids = walk.graph.sortSavesets(savesets)
  return {
    fields: { savesets: ids, paths, morePaths: more },
    text: `: used by ${paths.length ? listSome(paths, PATHS_SHOWN) + (more ? ' and more' : '') : '(no path known)'} in ${savesetPhrase(ids)}`,
  }
}

function savesetPhrase(ids: readonly string[]): string {
  return ids.length === 0 ? 'no saveset' : ids.length === 1 ? `saveset ${ids[0]}` : `${ids.length} savesets: ${listSome(ids, 5)}`
}

function objectFinding(walk: WalkResult, warningsRefs: Map<string, string[]>, p: ObjectProblem): Finding {
  const state = p.state === 'missing' ? 'missing' : 'corrupt'
  const why = p.state === 'missing' ? '' : ` (${p.why})`
  if (p.what === 'tree') {
    const ids = walk.graph.savesetsOf(p.hash)
    const at = walk.graph.pathsOf(p.hash)
    const paths = at.paths.map(showSavedPath)
    return {
      level: 'error', kind: p.state === 'missing' ? 'missing-tree' : 'corrupt-tree', object: p.hash, savesets: ids, paths, morePaths: at.more,
      message: `${state} tree ${p.hash}${why}: directory ${listSome(paths, PATHS_SHOWN)}${at.more ? ' and more' : ''} and everything below it, in ${savesetPhrase(ids)}`,
    }
  }
  if (p.what === 'warnings') {
    const ids = warningsRefs.get(p.hash) ?? []
    return {
      level: 'error', kind: p.state === 'missing' ? 'missing-warnings' : 'corrupt-warnings', object: p.hash, savesets: ids,
      message: `${state} warnings list ${p.hash}${why} of ${savesetPhrase(ids)}: list --warnings cannot show them (the files themselves are not affected)`,
    }
  }
  const users = describeChunkUsers(walk, p.hash)
  return {
    level: 'error', kind: p.state === 'missing' ? 'missing-chunk' : 'corrupt-chunk', object: p.hash, ...users.fields,
    message: `${state} chunk ${p.hash}${why}${users.text}`,
  }
}

/** One saved path, within saveset `s`, of what a damaged object held (null: none known). */
function pathIn(walk: WalkResult, p: ObjectProblem, s: string): string | null {
  if (p.what === 'tree') {
    const at = walk.graph.pathIn(p.hash, s)
    return at === null ? null : showSavedPath(at)
  }
  if (p.what === 'warnings') return null
  for (const [tree, name] of userPairs(walk.chunks.get(p.hash)?.users ?? [])) {
    const at = walk.graph.pathIn(tree, s)
    if (at !== null) return showSavedPath(childPath(at, name))
  }
  return null
}

function leftoverFindings(l: Leftovers, unreadableTrees: boolean, errors: Finding[], info: Finding[], now: number): void {
  for (const f of l.missingFanout) {
    errors.push({ level: 'error', kind: 'missing-fanout', file: f, message: `fan-out directory ${f} is missing (init makes them all and nothing removes them): saves storing an object there fail; recreate it: mkdir -m 700 ${f}` })
  }
  for (const t of l.temporaries) {
    info.push({ level: 'info', kind: 'temporary', file: t.file, message: `temporary file ${t.file} (${formatAge(t.ageMs)} old): a write in progress or one interrupted by a crash; expire removes temporaries older than a day` })
  }
  if (l.temporariesTotal > l.temporaries.length) {
    info.push({ level: 'info', kind: 'temporary', count: l.temporariesTotal - l.temporaries.length, message: `and ${plural(l.temporariesTotal - l.temporaries.length, 'more temporary file')}` })
  }
  for (const k of l.staleLocks) {
    const why = now - k.refreshed > STALE_MS ? `not refreshed for ${formatAge(now - k.refreshed)}` : `pid ${k.pid} is not running on this host`
    info.push({ level: 'info', kind: 'stale-lock', file: `locks/${k.file}`, message: `stale lock locks/${k.file}: ${k.kind} lock of ${k.operation} by pid ${k.pid} on ${k.host} since ${k.start} (${why}); tarshift unlock removes it` })
  }
  for (const k of l.activeLocks) {
    info.push({ level: 'info', kind: 'active-lock', file: `locks/${k.file}`, message: `lock held: ${k.kind} lock of ${k.operation} by pid ${k.pid} on ${k.host} since ${k.start}${k.operation === 'save' ? ' (a running save: its newest objects show as unreferenced until its next checkpoint)' : ''}` })
  }
  const u = l.unreferenced
  if (u.count > 0) {
    info.push({
      level: 'info', kind: 'unreferenced', count: u.count, bytes: u.bytes, objects: u.sample,
      message: `${plural(u.count, 'unreferenced object')} (${formatSize(u.bytes)}) that no saveset uses: written by an interrupted or running save, or left by expire within its grace period${unreadableTrees ? ', or used only below an unreadable tree' : ''}; expire removes them`,
    })
  }
  if (l.orphanTimes > 0) {
    info.push({ level: 'info', kind: 'orphan-time', count: l.orphanTimes, message: `${plural(l.orphanTimes, '.time file')} whose object is gone; expire removes them` })
  }
  for (const s of l.stray) info.push({ level: 'info', kind: 'stray-file', file: s, message: `unexpected file ${s}: not an object or temporary of tarshift; left alone` })
  if (l.strayTotal > l.stray.length) info.push({ level: 'info', kind: 'stray-file', count: l.strayTotal - l.stray.length, message: `and ${plural(l.strayTotal - l.stray.length, 'more unexpected file')}` })
  if (l.quarantined > 0) {
    info.push({ level: 'info', kind: 'quarantine', file: 'quarantine', count: l.quarantined, message: `quarantine/ holds ${plural(l.quarantined, 'object')} moved there by an earlier check --repair; inspect them or delete them` })
  }
}
