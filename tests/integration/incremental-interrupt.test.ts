// Checkpoints (DESIGN.md §3, §7): a long save killed with SIGKILL, or interrupted with SIGINT,
// leaves a listed INCOMPLETE saveset whose checkpoint restores (a valid tar holding complete
// files), and the next save takes it as its most recent reference and reads only the files the
// checkpoint did not cover. The long save: ~430 MiB of incompressible files, checkpoints every
// 0.3 s, savedir on disk.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDir, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir } from '../helpers/cli.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { sha256File } from '../helpers/tree-snapshot.js'
import type { SavesetSummary } from '../../lib/repo/saveset.js'
import {
  hoursAgoNs, incSave, listJson, restorePipe, restoreVia, summariesNow, tarshiftBackground,
} from '../helpers/run-cli-incremental.js'
import { runUntil } from '../helpers/run-in-slices.js'

const MiB = 1024 * 1024
const BIG_COUNT = 6
const BIG_SIZE = 72 * MiB
const SMALL_COUNT = 40

/** big/f0..f5 (72 MiB each, seeded), then small/ (40 files): walked in this order. */
function longTree(): FixtureNode {
  const old = hoursAgoNs(4)
  const big: Record<string, FixtureNode> = {}
  for (let i = 0; i < BIG_COUNT; i++) big[`f${i}`] = { type: 'file', size: BIG_SIZE + i * 4099, seed: 700 + i, mtimeNs: old }
  const small: Record<string, FixtureNode> = {}
  for (let i = 0; i < SMALL_COUNT; i++) small[`s${String(i).padStart(2, '0')}`] = { type: 'file', size: 100 + i * 97, seed: 800 + i, mtimeNs: old }
  return { type: 'dir', mtimeNs: old, children: { big: { type: 'dir', mtimeNs: old, children: big }, small: { type: 'dir', mtimeNs: old, children: small } } }
}
const TOTAL_FILES = BIG_COUNT + SMALL_COUNT

// One source for both tests (read-only): removed when the process exits.
const SRC = path.join(tmpDir('tarshift-inc-long-'), 'src')
buildTree(SRC, longTree())

/**
 * Regular files under `restoredRoot` (the restored copy of SRC): each must equal the source
 * file at the same relative path, in size and content. Returns how many there are.
 */
function checkCoveredFiles(t: Test, restoredRoot: string): number {
  let n = 0
  let bad = 0
  const walk = (rel: string): void => {
    const abs = path.join(restoredRoot, rel)
    for (const name of fs.readdirSync(abs)) {
      const r = path.join(rel, name)
      const st = fs.lstatSync(path.join(restoredRoot, r))
      if (st.isDirectory()) walk(r)
      else if (st.isFile()) {
        n++
        const srcFile = path.join(SRC, r)
        if (st.size !== fs.statSync(srcFile).size || sha256File(path.join(restoredRoot, r)) !== sha256File(srcFile)) {
          bad++
          t.fail(`restored ${r} differs from the source (${st.size} bytes)`)
        }
      }
    }
  }
  if (fs.existsSync(restoredRoot)) walk('')
  t.equal(bad, 0, `every file of the checkpoint (${n}) is complete and equal to the source`)
  return n
}

/** Starts a long save and waits until a checkpoint summary is listed; returns it. */
async function startAndAwaitCheckpoint(t: Test, savedir: string, subset: string, cache: string): Promise<{ bg: ReturnType<typeof tarshiftBackground>; seen: SavesetSummary | undefined }> {
  // Checkpoints every 0.3 s, and the first one that covers a file is awaited.
  const bg = tarshiftBackground(['save', '-r', savedir, '--subset', subset, '--progress', 'none', '--json', '--checkpoint-interval', '0.3s', SRC], cache)
  // The save runs in slices until a checkpoint is seen, and is left stopped there: the signal
  // that follows lands before the end of the walk on any machine.
  const seen = await runUntil(bg.child.pid as number, () => summariesNow(savedir).find(s => s.checkpoint !== null && s.root !== null && s.files >= 1), 120_000)
  t.ok(seen, 'a checkpoint summary appeared while the save was running')
  return { bg, seen: seen ?? undefined }
}

/** The save after an interrupted one: continues from the checkpoint, then round-trips. */
async function continueAndRoundTrip(t: Test, savedir: string, subset: string, cache: string, incomplete: SavesetSummary, covered: number): Promise<void> {
  const s2 = incSave(savedir, subset, [SRC, '--checkpoint-interval', '1s'], cache)
  t.ok(s2.references.includes(incomplete.id), 'the incomplete saveset is a reference')
  t.equal(s2.references[0], incomplete.id, 'as the most recent one')
  t.equal(s2.filesRead + s2.filesReused, TOTAL_FILES, 'every file read or reused')
  t.ok(s2.filesRead < TOTAL_FILES, `not everything read again (${s2.filesRead} of ${TOTAL_FILES})`)
  t.ok(s2.filesReused >= covered, `the files the checkpoint covers are reused (${s2.filesReused} >= ${covered})`)
  const totalBytes = fs.readdirSync(path.join(SRC, 'big')).reduce((n, f) => n + fs.statSync(path.join(SRC, 'big', f)).size, 0)
  t.ok(s2.bytesRead < totalBytes, `the covered big files are not read again (${s2.bytesRead} of ${totalBytes} big-file bytes read)`)
  const done = listJson(savedir).find(s => s.id === s2.id)
  t.ok(done?.finish, 'the next save completes')
  const out = path.join(tmpDirFor(t, 'tarshift-inc-long-out-'), 'out')
  const r = restorePipe(savedir, s2.id, out)
  t.equal(r.status, 0, `restore | tar -x: ${r.stderr}`)
  assertSameTree(t, SRC, path.join(out, SRC), { labels: ['source', 'restored'] })
}

t.test('kill -9 during a long save leaves a restorable INCOMPLETE saveset the next save continues', async t => {
  const savedir = newSavedir(t)
  const cache = tmpDirFor(t, 'tarshift-inc-kill-cache-')
  const { bg, seen } = await startAndAwaitCheckpoint(t, savedir, 'kill', cache)
  if (bg.child.pid !== undefined && bg.child.exitCode === null) process.kill(bg.child.pid, 'SIGKILL')
  const res = await bg.done
  t.equal(res.signal, 'SIGKILL', `the save was killed, not finished (exit ${res.status}; ${res.stdout.trim()})`)
  if (!seen || res.signal !== 'SIGKILL') return

  const listed = listJson(savedir)
  t.equal(listed.length, 1, 'one saveset listed')
  const inc = listed[0] as SavesetSummary
  t.equal(inc.id, seen.id)
  t.equal(inc.finish, null, 'INCOMPLETE: finish is null')
  t.not(inc.root, null, 'it has a root')
  t.not(inc.checkpoint, null, 'and a checkpoint time')

  const dir = tmpDirFor(t, 'tarshift-inc-kill-out-')
  const r = restoreVia(savedir, inc.id, path.join(dir, 'out'), path.join(dir, 'partial.tar'))
  t.equal(r.restore.status, 0, `restore of the incomplete saveset: ${r.restore.stderr}`)
  t.equal(r.list, 0, `tar -tf accepts it: ${r.tarStderr}`)
  t.equal(r.extract, 0, `tar -x: ${r.tarStderr}`)
  const covered = checkCoveredFiles(t, path.join(dir, 'out', SRC))
  t.ok(covered >= 1, `the checkpoint covers some files (${covered})`)
  t.ok(covered < TOTAL_FILES, 'but not all')
  t.equal(covered, inc.files, 'as many as its summary says')
  fs.rmSync(dir, { recursive: true, force: true })

  await continueAndRoundTrip(t, savedir, 'kill', cache, inc, covered)
})

t.test('SIGINT during a long save: exit 3 after writing a checkpoint; the next save continues', async t => {
  const savedir = newSavedir(t)
  const cache = tmpDirFor(t, 'tarshift-inc-int-cache-')
  const { bg, seen } = await startAndAwaitCheckpoint(t, savedir, 'int', cache)
  if (bg.child.pid !== undefined && bg.child.exitCode === null) {
    process.kill(bg.child.pid, 'SIGINT')
    process.kill(bg.child.pid, 'SIGCONT')
  }
  const res = await bg.done
  t.equal(res.status, 3, `exit code 3 (got ${res.status ?? res.signal}; stderr: ${res.stderr.trim()})`)
  t.match(res.stderr, /checkpoint \S+ written/, 'stderr says a checkpoint was written')
  t.equal(res.stdout, '', 'no JSON summary of a completed save')
  if (!seen || res.status !== 3) return

  const listed = listJson(savedir)
  t.equal(listed.length, 1)
  const inc = listed[0] as SavesetSummary
  t.equal(inc.finish, null, 'INCOMPLETE: finish is null')
  t.not(inc.checkpoint, null, 'with a checkpoint')
  t.not(inc.root, null, 'and a root')
  t.ok((inc.checkpoint as string) >= (seen.checkpoint as string), 'the interrupt wrote the latest checkpoint')
  t.ok(res.stderr.includes(inc.id), 'stderr names the saveset')

  const dir = tmpDirFor(t, 'tarshift-inc-int-out-')
  const r = restoreVia(savedir, inc.id, path.join(dir, 'out'), path.join(dir, 'partial.tar'))
  t.equal(r.restore.status, 0, `restore of the interrupted saveset: ${r.restore.stderr}`)
  t.equal(r.list, 0, `tar -tf accepts it: ${r.tarStderr}`)
  const covered = checkCoveredFiles(t, path.join(dir, 'out', SRC))
  t.ok(covered >= 1 && covered < TOTAL_FILES, `the checkpoint covers some files but not all (${covered})`)
  fs.rmSync(dir, { recursive: true, force: true })

  await continueAndRoundTrip(t, savedir, 'int', cache, inc, covered)
})

/** Bytes `pid` has read through read(2) and the like (/proc/PID/io rchar); 0 when gone. */
function bytesReadBy(pid: number): number {
  try {
    const m = /^rchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'latin1'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

t.test('SIGINT in the middle of a huge file: exit 3 without reading it to its end; the checkpoint leaves it out', async t => {
  const dir = tmpDirFor(t, 'tarshift-inc-huge-')
  const src = path.join(dir, 'src')
  buildTree(src, { type: 'dir', children: { 'a.txt': { type: 'file', size: 1000, seed: 1 }, 'z.txt': { type: 'file', size: 2000, seed: 2 } } })
  // 1 TiB of holes: read to its end it would take many minutes, on any machine. (A file system
  // that cannot hold a file that large, as ext4 with 1 KiB blocks, gets 15 GiB.)
  const huge = path.join(src, 'huge.bin')
  fs.closeSync(fs.openSync(huge, 'w'))
  try {
    fs.truncateSync(huge, 1024 ** 4)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EFBIG') throw e
    fs.truncateSync(huge, 15 * 1024 ** 3)
  }
  const savedir = newSavedir(t)
  const cache = tmpDirFor(t, 'tarshift-inc-huge-cache-')
  const bg = tarshiftBackground(['save', '-r', savedir, '--subset', 'huge', '--progress', 'none', '--json', src], cache)
  const pid = bg.child.pid as number
  t.teardown(() => { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } })
  const reading = await runUntil(pid, () => (bytesReadBy(pid) > 512 * MiB ? true : undefined), 120_000)
  t.ok(reading, 'the save is reading the huge file')
  if (!reading) return
  process.kill(pid, 'SIGINT')
  process.kill(pid, 'SIGCONT')
  const res = await Promise.race([bg.done, new Promise<null>(r => setTimeout(() => r(null), 120_000).unref())])
  t.ok(res !== null, 'it ends without reading the file to its end')
  if (res === null) return
  t.equal(res.status, 3, `exit code 3 (stderr: ${res.stderr.trim()})`)
  t.match(res.stderr, /checkpoint \S+ written/, 'stderr says a checkpoint was written')
  const listed = listJson(savedir)
  t.equal(listed.length, 1)
  const inc = listed[0] as SavesetSummary
  t.equal(inc.finish, null, 'INCOMPLETE')
  t.not(inc.root, null, 'with a checkpoint root')
  const out = path.join(dir, 'out')
  const r = restorePipe(savedir, inc.id, out)
  t.equal(r.status, 0, `restore | tar -x: ${r.stderr}`)
  const restored = path.join(out, src)
  t.same(fs.readdirSync(restored).sort(), ['a.txt'], 'the files before it, not the huge file nor those after it')
  t.equal(sha256File(path.join(restored, 'a.txt')), sha256File(path.join(src, 'a.txt')))
})
