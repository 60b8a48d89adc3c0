// The save's read-ahead walks what the save will walk, in the same order, skips what the
// save skips, and stays within its lookahead of the save's progress.
import t from 'tap'
import type tap from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { ReadAhead } from '../../lib/save/read-ahead.js'
import { native } from '../../lib/fs/native.js'
import { Excluder } from '../../lib/save/exclude.js'
import { statWindow } from '../../lib/save/stat-window.js'
import { fileType, LstatFailure, S_IFDIR, type FileStat } from '../../lib/fs/file-stat.js'
import { diskTmpDir, evict, residentBytes } from '../helpers/page-cache.js'

const file: FixtureNode = { type: 'file', size: 10, seed: 1 }

async function until(pred: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms
  while (!pred() && Date.now() < end) await new Promise(r => setTimeout(r, 10))
  return pred()
}

t.test('walks the directories in name-byte order, skipping excluded ones', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  buildTree(root, {
    type: 'dir',
    children: {
      c: { type: 'dir', children: { d: { type: 'dir', children: { f: file } }, 'e.txt': file } },
      a: { type: 'dir', children: { f: file } },
      'skip-me': { type: 'dir', children: { inner: { type: 'dir', children: {} } } },
      B: { type: 'dir', children: {} },
      'link-to-a': { type: 'symlink', target: 'a' },
    },
  })
  const listed: string[] = []
  const p = new ReadAhead({ exclude: ['skip-*'], oneFileSystem: true, contentsSince: null, onList: d => listed.push(path.relative(root, d.toString()) || '.') })
  try {
    p.walkStarts(Buffer.from(root))
    t.ok(await until(() => listed.length >= 5), `listed ${listed.join(' ')}`)
    await new Promise(r => setTimeout(r, 100))
    t.same(listed, ['.', 'B', 'a', 'c', 'c/d'], 'every directory once, depth first, in byte order; not the excluded one, not through the symlink')
  } finally {
    await p.close()
  }
})

t.test('stays within its lookahead of the save, and goes on as the save advances', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  const children: Record<string, FixtureNode> = {}
  for (let i = 0; i < 40; i++) children[`d${String(i).padStart(2, '0')}`] = { type: 'dir', children: { f: file } }
  buildTree(root, { type: 'dir', children })
  let listed = 0
  let maxSeen = 0
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, lookahead: 6, onList: (_d, seen) => { listed++; maxSeen = Math.max(maxSeen, seen) } })
  try {
    p.walkStarts(Buffer.from(root))
    await until(() => listed >= 3)
    await new Promise(r => setTimeout(r, 300))
    t.ok(listed < 10, `without progress from the save it stops early (${listed} directories listed)`)
    t.ok(maxSeen <= 7, `having looked at no more than lookahead + 1 entries (${maxSeen})`)
    for (let i = 0; i < 2048; i++) p.step(0)
    t.ok(await until(() => listed === 41), `as the save advances it lists the rest (${listed} of 41)`)
  } finally {
    await p.close()
  }
})

t.test('reading contents ahead leaves every access time as it was', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  const children: Record<string, FixtureNode> = {}
  for (let i = 0; i < 20; i++) children[`f${i}`] = { type: 'file', size: 5000 + i, seed: i }
  buildTree(root, { type: 'dir', children: { sub: { type: 'dir', children } } })
  const old = new Date('2001-02-03T04:05:06Z')
  const files = Object.keys(children).map(n => path.join(root, 'sub', n))
  for (const f of files) fs.utimesSync(f, old, fs.statSync(f).mtime)
  let listed = 0
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, onList: () => { listed++ } })
  try {
    p.walkStarts(Buffer.from(root))
    t.ok(await until(() => listed === 2), 'it walked the tree')
    await new Promise(r => setTimeout(r, 200))
  } finally {
    await p.close()
  }
  t.same(files.filter(f => fs.statSync(f).atimeMs !== old.getTime()), [], 'no atime changed (nothing is read: the kernel is asked to read ahead)')
})

t.test('the contents of files the save will read are in the page cache before it gets there', async t => {
  const root = path.join(diskTmpDir(t, 'tarshift-ra-cache-'), 'src')
  const children: Record<string, FixtureNode> = {}
  for (let i = 0; i < 30; i++) children[`f${i}`] = { type: 'file', size: 20_000 + i, seed: i }
  children['big'] = { type: 'file', size: 5 * 1024 * 1024, seed: 99 }
  buildTree(root, { type: 'dir', children: { sub: { type: 'dir', children } } })
  const files = Object.keys(children).map(n => path.join(root, 'sub', n))
  for (const f of files) evict(f)
  t.same(files.filter(f => residentBytes(f) !== 0), [], 'nothing cached to begin with')
  let listed = 0
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, onList: () => { listed++ } })
  try {
    p.walkStarts(Buffer.from(root))
    const small = files.filter(f => !f.endsWith('big'))
    t.ok(await until(() => small.every(f => residentBytes(f) === fs.statSync(f).size + ((4096 - (fs.statSync(f).size % 4096)) % 4096))), 'every small file is cached whole')
    t.equal(residentBytes(path.join(root, 'sub', 'big')), 0, 'a file over 4 MiB is left to the save (and the kernel\'s sequential read-ahead)')
  } finally {
    await p.close()
  }
  // With contentsSince after every file's times, nothing is asked for.
  for (const f of files) evict(f)
  const q = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: Date.now() + 3_600_000, onList: () => { listed++ } })
  listed = 0
  try {
    q.walkStarts(Buffer.from(root))
    t.ok(await until(() => listed === 2), 'walked')
    await new Promise(r => setTimeout(r, 300))
    t.same(files.filter(f => residentBytes(f) !== 0), [], 'no contents read ahead for files not changed since')
  } finally {
    await q.close()
  }
})

/** A save-like walk over `dir` taking its windows from the read-ahead; each compared with a fresh listing and lstat. */
async function walkShared(t: Pick<typeof tap, 'fail' | 'same' | 'ok'>, p: ReadAhead, dir: Buffer, excluder: Excluder, seen: string[]): Promise<void> {
  const own = fs.readdirSync(dir, { encoding: 'latin1' }).sort()
  const mine = statWindow(dir, own, 0, own.length, excluder)
  const texts: string[] = []
  const stats: Array<FileStat | LstatFailure> = []
  const paths: Buffer[] = []
  let at = 0
  for (;;) {
    const w = await p.window(dir, at)
    if (w === null) return void t.fail(`no window for ${dir} at ${at}`)
    texts.push(...w.texts)
    stats.push(...w.stats)
    paths.push(...w.paths)
    // The save descends into each subdirectory before it asks for the next window.
    for (const [k, st] of w.stats.entries()) {
      if (!(st instanceof LstatFailure) && fileType(st) === S_IFDIR) await walkShared(t, p, w.paths[k] as Buffer, excluder, seen)
    }
    at = w.to
    if (at >= w.total) break
  }
  seen.push(dir.toString('latin1'))
  t.same(texts, mine.texts, `${path.basename(dir.toString())}: the names the save would list, excluded ones left out`)
  t.ok(paths.every((q, i) => q.equals(mine.paths[i] as Buffer)), 'their paths')
  // (The access times may differ: listing a directory, this test's included, can set its atime.)
  const noAtime = (a: Array<FileStat | LstatFailure>): unknown[] => a.map(s => s instanceof LstatFailure ? s : { ...s, atime: null })
  t.same(noAtime(stats), noAtime(mine.stats), 'their stats, field by field')
}

t.test('window(): each directory\'s names and stats, a window at a time, in the save\'s order', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  const many: Record<string, FixtureNode> = {}
  for (let i = 0; i < 1300; i++) many[`n${String(i).padStart(4, '0')}`] = i % 100 === 0 ? { type: 'dir', children: { f: file } } : file
  many['skip-this'] = file
  buildTree(root, {
    type: 'dir',
    children: {
      many: { type: 'dir', children: many },
      empty: { type: 'dir', children: {} },
      [Buffer.from([0x6e, 0xe9, 0xff]).toString('latin1')]: { type: 'dir', children: { x: file } },
      deep: { type: 'dir', children: { d1: { type: 'dir', children: { d2: { type: 'dir', children: { f: file, l: { type: 'symlink', target: 'f' } } } } } } },
      fifo: { type: 'fifo' },
    },
  })
  const p = new ReadAhead({ exclude: ['skip-*'], oneFileSystem: false, contentsSince: null, lookahead: 200 })
  const seen: string[] = []
  try {
    p.walkStarts(Buffer.from(root))
    await walkShared(t, p, Buffer.from(root), new Excluder(['skip-*']), seen)
  } finally {
    await p.close()
  }
  t.equal(seen.length, 1 + 1 + 13 + 1 + 1 + 3, 'every directory walked once, the one with a non-UTF-8 name too')
})

t.test('window(): a directory it cannot list is left to the save; a walk that differs ends the sharing', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  buildTree(root, { type: 'dir', children: { a: { type: 'dir', children: { f: file } }, b: { type: 'dir', children: { g: file } } } })
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: null })
  try {
    const gone = Buffer.from(path.join(root, 'no-such-dir'))
    p.walkStarts(gone)
    t.equal(await p.window(gone, 0), null, 'could not list it: null, the save lists it itself and reports why')
    p.walkStarts(Buffer.from(root))
    const w = await p.window(Buffer.from(root), 0)
    t.same(w?.texts, ['a', 'b'], 'and the windows after it still come')
    // The save goes into b first, unlike the thread (into a): from then on nothing.
    t.equal(await p.window(Buffer.from(path.join(root, 'b')), 0), null, 'another directory than the thread\'s next: null')
    t.equal(await p.window(Buffer.from(path.join(root, 'a')), 0), null, 'and null from then on, even where it would have matched')
  } finally {
    await p.close()
  }
})

t.test('window(): asked for a directory after the thread has walked all it was given: null, not a wait', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  buildTree(root, { type: 'dir', children: { a: { type: 'dir', children: { f: file } } } })
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: null })
  try {
    p.walkStarts(Buffer.from(root))
    t.same((await p.window(Buffer.from(root), 0))?.texts, ['a'])
    t.same((await p.window(Buffer.from(path.join(root, 'a')), 0))?.texts, ['f'])
    // As when the thread could not list a directory that the save then could, with a
    // subdirectory: the thread never walked it, and nothing more will come.
    const t0 = Date.now()
    t.equal(await p.window(Buffer.from(path.join(root, 'a', 'new')), 0), null, 'null')
    t.ok(Date.now() - t0 < 5_000, 'at once')
  } finally {
    await p.close()
  }
})

t.test('window(): a tree 300 directories deep, and a directory of 5,000 names, in windows', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  let deep: FixtureNode = { type: 'dir', children: { leaf: file } }
  for (let i = 0; i < 300; i++) deep = { type: 'dir', children: { [`d${i % 10}`]: deep } }
  const wide: Record<string, FixtureNode> = {}
  for (let i = 0; i < 5000; i++) wide[`w${i}`] = { type: 'symlink', target: 'x' }
  buildTree(root, { type: 'dir', children: { deep, wide: { type: 'dir', children: wide } } })
  const p = new ReadAhead({ exclude: ['w4*'], oneFileSystem: false, contentsSince: null, lookahead: 100 })
  const seen: string[] = []
  try {
    p.walkStarts(Buffer.from(root))
    await walkShared(t, p, Buffer.from(root), new Excluder(['w4*']), seen)
  } finally {
    await p.close()
  }
  t.equal(seen.length, 1 + 301 + 1, 'every directory walked once')
})

t.test('the native calls refuse a missing handle or missing arguments (TypeError)', async t => {
  const h = native.readAheadStart({ exclude: [], oneFileSystem: false, share: true, report: false, lookahead: 10, lookaheadMiB: 1, contentsSince: null, contentMax: 0 })
  try {
    t.throws(() => native.readAheadTake({}, 0, 0), TypeError, 'not a handle')
    t.throws(() => (native.readAheadProgress as (...a: unknown[]) => void)(h, 1), TypeError, 'an argument short')
    t.throws(() => (native.readAheadWalk as (...a: unknown[]) => void)(), TypeError, 'no arguments')
    t.equal(native.readAheadTake(h, 5000, 0), 'end', 'given nothing to walk: nothing will come')
  } finally {
    native.readAheadClose(h)
  }
})
