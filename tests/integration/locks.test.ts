// Locks and concurrency through the real CLI (DESIGN.md §5): two saves of different subsets
// into one savedir at the same time both complete and restore; an expire started while a save
// runs exits 11 naming the holder and deletes nothing, and with --wait it runs once the save has
// ended, after which the save's saveset restores byte-exact; a lock left by a dead pid is stale
// (expire and save proceed, unlock removes it); a live foreign lock blocks until unlock --force.
//
// "While a save runs" is made deterministic with SIGSTOP/SIGCONT: the save runs in short slices,
// stopped in between (run-in-slices.ts), until it has written its first summary, objects and a
// checkpoint; it stays frozen there while the expires run against it, then is resumed. A frozen process still holds its lock exactly as a slow one does.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, saveOk, showRun, tarshift } from '../helpers/cli.js'
import { snapshotTree } from '../helpers/tree-snapshot.js'
import { listSummaries, type SavesetSummary } from '../../lib/repo/saveset.js'
import {
  assertRestoresTo, dataObjects, digestDiff, reachablePerSaveset, savedirDigest, setSavesetTimes, sleep, tarshiftBackground,
  union, verifyAllObjects, waitFor, expireCacheHome,
} from '../helpers/run-cli-expire.js'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectTimes } from '../../lib/cache/object-times.js'
import { SummaryFile } from '../../lib/cache/summary-file.js'
import { runUntil } from '../helpers/run-in-slices.js'

const KiB = 1024
const MiB = 1024 * KiB
const DAY = 24 * 3600_000

/** `bigFiles` files of `bigSize` bytes and `smallFiles` small files in 20 dirs, seeds from `seed`. */
function bulkTree(seed: number, bigFiles: number, bigSize: number, smallFiles: number, extra: Record<string, FixtureNode> = {}): FixtureNode {
  const children: Record<string, FixtureNode> = { ...extra }
  for (let i = 0; i < bigFiles; i++) children[`big-${i}.bin`] = { type: 'file', size: bigSize, seed: seed + i }
  for (let d = 0; d < 20; d++) {
    const files: Record<string, FixtureNode> = {}
    for (let f = 0; f < smallFiles / 20; f++) files[`f${f}`] = { type: 'file', size: 100 + ((d * 977 + f * 131) % 3000), seed: seed + 1000 + d * 1000 + f }
    children[`d${d}`] = { type: 'dir', children: files }
  }
  return { type: 'dir', children }
}

function summaryOf(savedir: string, subset: string): SavesetSummary | undefined {
  return listSummaries(savedir).find(s => s.subset === subset)
}

function lockFiles(savedir: string): string[] {
  return fs.readdirSync(path.join(savedir, 'locks')).sort()
}

/** A lock file written by hand, as another (or a dead) tarshift would have left it. */
function handLock(savedir: string, pid: number, kind: 'shared' | 'exclusive', operation: string, name = `${os.hostname()}.${pid}.abcd.${kind}.lock`): string {
  fs.writeFileSync(path.join(savedir, 'locks', name), JSON.stringify({ host: os.hostname(), pid, operation, kind, start: new Date().toISOString() }) + '\n', { mode: 0o600 })
  return name
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('two saves of different subsets at the same time both complete and restore', async t => {
  const dir = tmpDirFor(t, 'tarshift-locks-two-')
  const a = path.join(dir, 'a')
  const b = path.join(dir, 'b')
  // Both trees hold the same 24 MiB file: the two saves race to write the same objects.
  const same: FixtureNode = { type: 'file', size: 24 * MiB, seed: 777 }
  buildTree(a, bulkTree(10_000, 4, 16 * MiB, 1000, { 'same.bin': same }))
  buildTree(b, bulkTree(20_000, 4, 16 * MiB, 1000, { 'same.bin': same }))
  const snapA = snapshotTree(a)
  const snapB = snapshotTree(b)
  const savedir = newSavedir(t)
  const args = (subset: string, src: string): string[] => ['save', '-r', savedir, '--subset', subset, '--progress', 'none', '--json', src]

  const saveA = tarshiftBackground(t, args('alpha', a))
  // A has started (its summary and some objects exist): freeze it, start B, let both run.
  const started = await runUntil(saveA.pid, () => (summaryOf(savedir, 'alpha') && dataObjects(savedir).size >= 3 ? true : undefined), 60_000)
  t.ok(started, `save A started and wrote objects, and is stopped there (${saveA.stderr()})`)
  const saveB = tarshiftBackground(t, args('beta', b))
  const startedB = await waitFor(() => (summaryOf(savedir, 'beta') ? true : undefined), 60_000)
  t.ok(startedB, 'save B started while A holds its lock')
  t.equal(lockFiles(savedir).filter(n => n.endsWith('.shared.lock')).length, 2, 'two shared locks at once')
  process.kill(saveA.pid, 'SIGCONT')
  const [ra, rb] = await Promise.all([saveA.done, saveB.done])
  t.equal(ra.status, 0, `save A: ${ra.stderr}`)
  t.equal(rb.status, 0, `save B: ${rb.stderr}`)
  const sa = summaryOf(savedir, 'alpha') as SavesetSummary
  const sb = summaryOf(savedir, 'beta') as SavesetSummary
  t.ok(sa.finish && sb.finish, 'both completed')
  t.ok(sa.start < (sb.finish as string) && sb.start < (sa.finish as string), 'their runs overlapped')
  t.same(lockFiles(savedir), [], 'both locks released')
  t.same(fs.readdirSync(path.join(savedir, 'savesets')).filter(n => n.endsWith('.tmp')), [], 'no temporaries')
  await assertRestoresTo(t, savedir, sa.id, a, snapA)
  await assertRestoresTo(t, savedir, sb.id, b, snapB)
  const v = await verifyAllObjects(savedir)
  t.same(v.bad, [], `all ${v.count} objects verify`)
  // Both saves wrote the host's local cache at once (doc/format.md §10): it knows every object
  // either wrote or refreshed, and each tree's summary reads back under its own name.
  const cache = path.join(expireCacheHome(), 'tarshift', readConfig(savedir).id)
  const times = ObjectTimes.open(cache)
  const unknown = [...dataObjects(savedir).keys()].filter(h => times.touchedAt(h) === undefined)
  t.same(unknown, [], 'the cache knows every object of the savedir')
  const summaries = SummaryFile.open(cache, 1 << 30)
  t.ok(summaries.has(sa.root as string) && summaries.has(sb.root as string), 'and has the summaries of both root trees')
  summaries.close()
})

t.test('expire during a running save: exit 11 and nothing deleted; with --wait it runs after the save', async t => {
  const dir = tmpDirFor(t, 'tarshift-locks-expire-')
  const small = path.join(dir, 'small')
  const big = path.join(dir, 'big')
  buildTree(small, bulkTree(30_000, 1, 2 * MiB, 40))
  // Several hundred MB of seeded random data and 2000 small files.
  buildTree(big, bulkTree(40_000, 12, 24 * MiB, 2000))
  const snapBig = snapshotTree(big)
  const savedir = newSavedir(t)

  // An older completed saveset of the same subset: what `--keep-last 1` will remove later.
  const old = saveOk(savedir, 'data', [small])
  setSavesetTimes(savedir, old.id, new Date(Date.now() - 10 * DAY))
  const oldObjects = new Set(dataObjects(savedir).keys())

  const save = tarshiftBackground(t, ['save', '-r', savedir, '--subset', 'data', '--progress', 'none', '--json', '--checkpoint-interval', '0.2s', big])
  // Run the save in slices until its first checkpoint (a summary with a root) and objects of its
  // own are there, and leave it stopped at that point.
  const cp = await runUntil(save.pid, () => {
    const s = listSummaries(savedir).find(x => x.id !== old.id)
    return s?.checkpoint && dataObjects(savedir).size > oldObjects.size + 10 ? s : undefined
  }, 120_000)
  t.ok(cp, `the save wrote a checkpoint and objects, and is stopped there (${save.stderr()})`)
  t.equal(save.child.exitCode, null, 'the save is still running (frozen now)')
  t.teardown(() => {
    try { process.kill(save.pid, 'SIGCONT') } catch { /* gone */ }
  })
  const frozen = savedirDigest(savedir)
  const objectsBefore = dataObjects(savedir).size
  t.ok(objectsBefore > oldObjects.size, `the running save has written ${objectsBefore - oldObjects.size} objects so far`)

  const r = tarshift(['expire', '-r', savedir, '--keep-last', '1', '--grace', '0'])
  t.equal(r.status, 11, `expire during the save: exit 11 (${showRun(r)})`)
  t.match(r.stderr, new RegExp(`shared lock of save by pid ${save.pid} on ${os.hostname().replace(/\./g, '\\.')}`), 'names the holder: operation, pid, host')
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  t.same(digestDiff(frozen, savedirDigest(savedir)), [], 'nothing deleted or changed')
  const dry = tarshift(['expire', '-r', savedir, '--keep-last', '1', '--dry-run'])
  t.equal(dry.status, 11, 'a dry run takes the exclusive lock too: exit 11')

  // --wait: the expire waits for the save to end.
  const waiting = tarshiftBackground(t, ['expire', '-r', savedir, '--keep-last', '1', '--grace', '0', '--wait', '5min', '--json'])
  await sleep(2500)
  t.equal(waiting.child.exitCode, null, 'expire --wait is still waiting while the save runs')
  t.same(digestDiff(frozen, savedirDigest(savedir)), [], 'and has changed nothing')
  process.kill(save.pid, 'SIGCONT')
  const rs = await save.done
  t.equal(rs.status, 0, `the save completes (${rs.stderr})`)
  const saved = JSON.parse(rs.stdout) as { id: string; checkpoints: number }
  t.ok(saved.checkpoints >= 1, `the save wrote checkpoints (${saved.checkpoints})`)
  const re = await waiting.done
  t.equal(re.status, 0, `expire --wait ran after the save (${re.stderr})`)
  const ej = JSON.parse(re.stdout) as { removedSavesets: string[]; objectsRemoved: number; savesets: Array<{ id: string; keep: boolean }> }
  t.same(ej.removedSavesets, [old.id], 'it removed the older saveset, as --keep-last 1 says')
  t.ok(ej.savesets.find(s => s.id === saved.id)?.keep, 'the new saveset stays')
  const summaries = listSummaries(savedir)
  t.same(summaries.map(s => s.id), [saved.id])
  const reach = await reachablePerSaveset(savedir)
  t.same([...dataObjects(savedir).keys()].sort(), [...union(reach.values())].sort(), 'left: exactly the objects of the new saveset')
  t.ok(ej.objectsRemoved > 0, `objects only the old saveset used were removed (${ej.objectsRemoved})`)
  await assertRestoresTo(t, savedir, saved.id, big, snapBig)
  t.same(lockFiles(savedir), [], 'no lock left')
})

t.test('a lock left by a dead pid is stale: expire and save proceed, unlock removes it', async t => {
  const dir = tmpDirFor(t, 'tarshift-locks-stale-')
  const src = path.join(dir, 'src')
  buildTree(src, bulkTree(50_000, 1, 1 * MiB, 20))
  const savedir = newSavedir(t)
  saveOk(savedir, 's', [src])
  t.notOk(pidAlive(999999), 'pid 999999 is not running here')
  const name = handLock(savedir, 999999, 'exclusive', 'save', `${os.hostname()}.999999.abcd.shared.lock`)

  const e = tarshift(['expire', '-r', savedir, '--keep-last', '1'])
  t.equal(e.status, 0, `expire ignores the dead pid's lock (${showRun(e)})`)
  const s = tarshift(['save', '-r', savedir, '--subset', 's', '--progress', 'none', src])
  t.equal(s.status, 0, `save ignores it too (${showRun(s)})`)
  t.same(lockFiles(savedir), [name], 'both left the stale lock alone')

  const u = tarshift(['unlock', '-r', savedir])
  t.equal(u.status, 0, showRun(u))
  t.match(u.stderr, /removed exclusive lock of save by pid 999999/)
  t.match(u.stderr, /1 lock\(s\) removed/)
  t.same(lockFiles(savedir), [], 'unlock removed it')

  // A tarshift killed by SIGKILL leaves such a lock: the next expire proceeds all the same.
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' })
  const pid = sleeper.pid as number
  handLock(savedir, pid, 'shared', 'save')
  sleeper.kill('SIGKILL')
  await new Promise(r => sleeper.on('close', r))
  const e2 = tarshift(['expire', '-r', savedir, '--keep-last', '1'])
  t.equal(e2.status, 0, `a killed holder's lock does not block (${showRun(e2)})`)
  t.match(tarshift(['unlock', '-r', savedir]).stderr, /1 lock\(s\) removed/)
})

t.test('a live foreign lock blocks (exit 11) until unlock --force', async t => {
  const dir = tmpDirFor(t, 'tarshift-locks-live-')
  const src = path.join(dir, 'src')
  buildTree(src, bulkTree(60_000, 1, 1 * MiB, 20))
  const savedir = newSavedir(t)
  const { id } = saveOk(savedir, 's', [src])
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' })
  t.teardown(() => { sleeper.kill('SIGKILL') })
  const pid = sleeper.pid as number

  // A shared lock (a save elsewhere in this host's process table) blocks expire only.
  handLock(savedir, pid, 'shared', 'save')
  const before = savedirDigest(savedir)
  const e = tarshift(['expire', '-r', savedir, '--keep-last', '1', '--grace', '0'])
  t.equal(e.status, 11, `expire: exit 11 (${showRun(e)})`)
  t.match(e.stderr, new RegExp(`shared lock of save by pid ${pid}`))
  const t0 = performance.now()
  const ew = tarshift(['expire', '-r', savedir, '--keep-last', '1', '--wait', '2s'])
  t.equal(ew.status, 11, '--wait 2s: still exit 11 once the wait is over')
  t.ok(performance.now() - t0 >= 2000, 'after waiting')
  const r = tarshift(['restore', '-r', savedir, id], { timeout: 60_000 })
  t.equal(r.status, 0, 'a reader (shared) is not blocked by a shared lock')
  t.same(digestDiff(before, savedirDigest(savedir)), [], 'nothing changed')

  const u = tarshift(['unlock', '-r', savedir])
  t.match(u.stderr, /0 lock\(s\) removed/, 'unlock without --force leaves a live lock')
  t.equal(tarshift(['expire', '-r', savedir, '--keep-last', '1']).status, 11, 'still blocked')
  const f = tarshift(['unlock', '-r', savedir, '--force'])
  t.equal(f.status, 0)
  t.match(f.stderr, new RegExp(`removed shared lock of save by pid ${pid}`))
  t.same(lockFiles(savedir), [])
  t.equal(tarshift(['expire', '-r', savedir, '--keep-last', '1']).status, 0, 'after unlock --force expire runs')

  // A live exclusive lock blocks savers and readers; --no-lock readers still work.
  handLock(savedir, pid, 'exclusive', 'expire')
  const s = tarshift(['save', '-r', savedir, '--subset', 's', '--progress', 'none', src])
  t.equal(s.status, 11, `save under a live exclusive lock: exit 11 (${showRun(s)})`)
  t.match(s.stderr, new RegExp(`exclusive lock of expire by pid ${pid}`))
  t.equal(listSummaries(savedir).length, 1, 'the refused save wrote no summary')
  t.equal(tarshift(['restore', '-r', savedir, id]).status, 11, 'restore: exit 11')
  t.equal(tarshift(['restore', '-r', savedir, id, '--no-lock']).status, 0, 'restore --no-lock reads anyway')
  t.equal(tarshift(['expire', '-r', savedir, '--keep-last', '1', '--no-lock']).status, 2, 'expire refuses --no-lock')
  t.match(tarshift(['unlock', '-r', savedir, '--force']).stderr, /1 lock\(s\) removed/)
  t.equal(tarshift(['save', '-r', savedir, '--subset', 's', '--progress', 'none', src]).status, 0, 'save runs after unlock --force')
})
