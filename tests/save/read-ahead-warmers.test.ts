// The read-ahead's warmers (native/read-ahead.c): on a cold cache the walk thread has the
// directories it is about to go down into listed and lstat'ed by more threads, side by side;
// on a warm one they do nothing. A file system of its own (ext4 in a loop-mounted image,
// mounted again to start cold) makes a cold cache without touching the rest of the machine's;
// where no loop device can be had, the tree is on the temp dir's disk and the whole page cache
// is dropped instead. What the walk hands the save is the same either way.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { native } from '../../lib/fs/native.js'

interface Window { dir: string; texts: string[]; stats: number[] }

/** Every window of a walk of `root`, and how many directories the warmers listed meanwhile. */
function walkAll(root: string): { windows: Window[]; warmed: number } {
  const h = native.readAheadStart({ exclude: [], oneFileSystem: false, share: true, report: false, lookahead: 1e9, lookaheadMiB: 1e9, contentsSince: null, contentMax: 0 })
  try {
    native.readAheadWalk(h, Buffer.from(root))
    const windows: Window[] = []
    for (;;) {
      const m = native.readAheadTake(h, 5000, 0) as null | 'end' | { dir: string; texts: string[]; raw: Float64Array }
      if (m === 'end') break
      if (m === null) throw new Error('no window in 5 s')
      // All but the access times (slots 9 and 10 of each name's 18).
      windows.push({ dir: m.dir, texts: m.texts, stats: Array.from(m.raw).filter((_, i) => i % 18 !== 9 && i % 18 !== 10) })
    }
    return { windows, warmed: native.readAheadWarmed(h) }
  } finally {
    native.readAheadClose(h)
  }
}

t.test('a cold walk has its directories listed ahead by the warmers; a warm one does not', async t => {
  if (process.getuid?.() !== 0) return t.fail('needs root: mounts a file system image, or drops the page cache')
  const base = tmpDirFor(t)
  const image = path.join(base, 'fs.img')
  const mnt = path.join(base, 'mnt')
  fs.mkdirSync(mnt)
  fs.closeSync(fs.openSync(image, 'w'))
  fs.truncateSync(image, 48 * 1024 * 1024)
  execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image])
  const mount = () => execFileSync('mount', ['-o', 'loop,noatime', image, mnt], { stdio: 'pipe' })
  const umount = () => execFileSync('umount', [mnt])
  let loop = true
  try {
    mount()
  } catch (e) {
    t.comment(`no loop mount here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): the page cache is dropped instead`)
    loop = false
  }
  if (loop) {
    t.teardown(() => {
      try { umount() } catch { /* not mounted */ }
    })
  }
  const file: FixtureNode = { type: 'file', size: 100, seed: 3 }
  const leaf = (n: number): Record<string, FixtureNode> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, file]))
  const children: Record<string, FixtureNode> = {}
  for (let d = 0; d < 80; d++) children[`d${String(d).padStart(2, '0')}`] = { type: 'dir', children: { ...leaf(20), s1: { type: 'dir', children: leaf(5) }, s2: { type: 'dir', children: leaf(5) } } }
  const root = path.join(loop ? mnt : base, 'src')
  buildTree(root, { type: 'dir', children })
  if (loop) {
    umount()
    mount() // nothing of it cached now
  } else {
    execFileSync('sync')
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3')
  }

  const cold = walkAll(root)
  t.ok(cold.warmed > 0, `cold: the warmers listed ${cold.warmed} directories`)
  const warm = walkAll(root)
  t.equal(warm.warmed, 0, 'warm: the warmers listed none')
  t.equal(cold.windows.length, 1 + 80 * 3, 'every directory walked once')
  t.same(cold.windows, warm.windows, loop ? 'the same windows, names and stats, cold and warm' : 'the same windows, names and stats (but access times), cold and warm')
})
