// The read-ahead's reader thread (pre-reading): what it hands the save with each window is what
// the save would have read itself (contents, the fstat after, targets, attributes), or
// nothing; never bytes that disagree with the stat that comes with them.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, fullFixture, seededBytes, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { initSavedir } from '../../lib/repo/init.js'
import { readConfig } from '../../lib/repo/config.js'
import { save } from '../../lib/save/save.js'
import { buildSelection } from '../../lib/save/source-paths.js'
import { WarningReporter } from '../../lib/save/warning-reporter.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { lookup, savedComponents } from '../../lib/restore/saveset-walk.js'
import { ReadAhead, type SharedWindow } from '../../lib/save/read-ahead.js'
import { native } from '../../lib/fs/native.js'
import { LstatFailure, type FileStat } from '../../lib/fs/file-stat.js'

const MAX = 16 * 1024

/** Every window of `dir` (no descent: the trees here have no subdirectories in them). */
async function windowsOf(p: ReadAhead, dir: string): Promise<SharedWindow[]> {
  const out: SharedWindow[] = []
  for (let at = 0; ;) {
    const w = await p.window(Buffer.from(dir), at)
    if (w === null) throw new Error(`no window for ${dir} at ${at}`)
    out.push(w)
    at = w.to
    if (at >= w.total) return out
  }
}

/** `n` files of `size` seeded bytes (seed: the number), named prefix + the number in 4 digits. */
function seededFiles(prefix: string, n: number, size: number): Record<string, FixtureNode> {
  const files: Record<string, FixtureNode> = {}
  for (let i = 0; i < n; i++) files[`${prefix}${String(i).padStart(4, '0')}`] = { type: 'file', size, seed: i }
  return files
}

const noAtime = (s: FileStat | LstatFailure | undefined): unknown => s instanceof LstatFailure || s === undefined ? s : { ...s, atime: null }

t.test('small files whole with the fstat after, symlink targets, attributes; nothing past the size limit', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  buildTree(root, {
    type: 'dir',
    children: {
      d: {
        type: 'dir',
        children: {
          empty: { type: 'file', content: '' },
          small: { type: 'file', size: 3000, seed: 1, xattrs: { 'user.a': 'one', 'user.b': Buffer.from([0, 1, 2, 255]) } },
          limit: { type: 'file', size: MAX, seed: 2 },
          over: { type: 'file', size: MAX + 1, seed: 3, xattrs: { 'user.c': 'big file' } },
          link: { type: 'symlink', target: Buffer.from([0x2e, 0x2f, 0xe9, 0xff]) },
          sub: { type: 'dir', children: {}, xattrs: { 'user.d': 'dir' } },
          fifo: { type: 'fifo' },
          hard1: { type: 'file', size: 100, seed: 4 },
          hard2: { type: 'hardlink', to: 'd/hard1' },
        },
      },
    },
  })
  const dir = path.join(root, 'd')
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, prereadMax: MAX })
  try {
    p.walkStarts(Buffer.from(dir))
    const [w, ...rest] = await windowsOf(p, dir)
    t.equal(rest.length, 0, 'one window')
    if (w === undefined) return
    t.ok(w.pre !== null, 'the window comes with what was read ahead')
    const pre = w.pre
    if (pre === null) return
    const at = (name: string): number => w.texts.indexOf(name)
    for (const name of ['empty', 'small', 'limit', 'hard1', 'hard2']) {
      const k = at(name)
      const c = pre.contents(k)
      const file = path.join(dir, name)
      t.ok(c !== null, `${name}: read ahead`)
      if (c === null) continue
      const bytes = fs.readFileSync(file)
      t.same(c.content.kind === 'inline' ? c.content.data : Buffer.alloc(0), bytes, `${name}: its whole contents`)
      t.equal(c.content.kind, bytes.length === 0 ? 'empty' : 'inline', `${name}: ${bytes.length === 0 ? 'empty' : 'inline'}`)
      t.equal(c.size, bytes.length, `${name}: its size`)
      t.notOk(c.unstable, `${name}: stable`)
      t.same(noAtime(c.stat), noAtime(w.stats[k]), `${name}: the fstat after reading is the walk's lstat`)
      t.same(pre.xattrs(k), native.lgetxattrs(Buffer.from(file)), `${name}: its attributes`)
    }
    const dataOf = (name: string): Buffer | null => { const c = pre.contents(at(name))?.content; return c?.kind === 'inline' ? c.data : null }
    t.equal(dataOf('small')?.buffer, dataOf('limit')?.buffer, 'files\' contents are views of the window\'s one buffer')
    t.not(dataOf('hard1')?.buffer, dataOf('small')?.buffer, 'but a hardlinked file\'s are a copy of their own (kept for the whole save)')
    t.equal(pre.contents(at('over')), null, 'a file over the limit is left to the save')
    t.same(pre.xattrs(at('over')), [[Buffer.from('user.c'), Buffer.from('big file')]], 'with its attributes read')
    t.same(pre.target(at('link')), Buffer.from([0x2e, 0x2f, 0xe9, 0xff]), 'a symlink\'s target, byte for byte')
    t.same(pre.xattrs(at('sub')), [[Buffer.from('user.d'), Buffer.from('dir')]], 'a directory\'s attributes')
    t.equal(pre.contents(at('fifo')), null, 'a fifo is not opened')
    t.same(pre.xattrs(at('fifo')), [], 'its attributes (none)')
    t.equal(pre.target(at('small')), null, 'no target for a file')
  } finally {
    await p.close()
  }
})

t.test('nothing is read ahead of entries unchanged since contentsSince, nor without prereadMax', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  buildTree(root, { type: 'dir', children: { d: { type: 'dir', children: { f: { type: 'file', size: 10, seed: 1, xattrs: { 'user.x': 'y' } }, l: { type: 'symlink', target: 'f' } } } } })
  const dir = path.join(root, 'd')
  const later = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: Date.now() + 3_600_000, prereadMax: MAX })
  try {
    later.walkStarts(Buffer.from(dir))
    const [w] = await windowsOf(later, dir)
    t.same([0, 1].map(k => [w?.pre?.contents(k), w?.pre?.xattrs(k), w?.pre?.target(k)]), [[null, null, null], [null, null, null]], 'nothing read: the save decides (it may reuse them)')
  } finally {
    await later.close()
  }
  const off = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0 })
  try {
    off.walkStarts(Buffer.from(dir))
    const [w] = await windowsOf(off, dir)
    t.equal(w?.pre, null, 'without prereadMax: no pre-reading')
  } finally {
    await off.close()
  }
})

t.test('a file that changes after the walk stat\'ed it is left to the save, never handed over with the old stat', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  // Two windows of 512 names; the reader may hold almost nothing: it stops after the first.
  const children = seededFiles('f', 1000, 2000)
  buildTree(root, { type: 'dir', children: { d: { type: 'dir', children } } })
  const dir = path.join(root, 'd')
  // (No onList: its reports are taken on a timer, with the windows, which frees the reader.)
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, prereadMax: MAX, prereadHeldMiB: 0.001 })
  const changed = path.join(dir, 'f0900')
  const fresh = seededBytes(2000, 12345)
  try {
    p.walkStarts(Buffer.from(dir))
    await new Promise(r => setTimeout(r, 300))
    fs.writeFileSync(changed, fresh) // same size, new contents, new mtime and ctime
    const ws = await windowsOf(p, dir)
    const w = ws.find(x => x.texts.includes('f0900'))
    const k = w?.texts.indexOf('f0900') ?? -1
    const c = w?.pre?.contents(k) ?? null
    if (c === null) t.pass('left to the save (the reader saw that it changed since the lstat)')
    else {
      // The reader got to it before the change: then the stat is the one before, and so are the bytes.
      t.comment('read before the change')
      t.same(c.content.kind === 'inline' ? c.content.data : null, seededBytes(2000, 900), 'the bytes of the stat it came with')
    }
    const other = w?.pre?.contents(w.texts.indexOf('f0901'))
    t.same(other?.content.kind === 'inline' ? other.content.data : null, seededBytes(2000, 901), 'its neighbours are read')
  } finally {
    await p.close()
  }
})

t.test('the reader fills only a little ahead of the save, and reads at most 1 MiB a window', async t => {
  const root = path.join(tmpDirFor(t), 'src')
  // Three windows of 512 files of 1,500 bytes (750 KiB a window): over 0.5 MiB after one.
  const children = seededFiles('f', 1536, 1500)
  const big = seededFiles('g', 400, 6000)
  buildTree(root, { type: 'dir', children: { d: { type: 'dir', children }, e: { type: 'dir', children: big } } })
  const dir = path.join(root, 'd')
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, prereadMax: MAX, prereadHeldMiB: 0.5 })
  try {
    p.walkStarts(Buffer.from(dir))
    // The walk has long stat'ed all three windows; the reader has filled the first and waits.
    await new Promise(r => setTimeout(r, 500))
    const later = path.join(dir, 'f1300')
    fs.writeFileSync(later, seededBytes(1500, 4242))
    const ws = await windowsOf(p, dir)
    t.equal(ws.length, 3, 'three windows')
    const third = ws[2]
    const k = third?.texts.indexOf('f1300') ?? -1
    t.equal(third?.pre?.contents(k), null, 'a file of the third window changed after the walk\'s lstat: the reader read it only after the save took the first windows, saw the change, and left it')
    t.ok(third !== undefined && third.texts.every((name, j) => j === k || third.pre?.contents(j)?.content.kind === 'inline'), 'the rest of the third window is read')
  } finally {
    await p.close()
  }
  const edir = path.join(root, 'e')
  const q = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, prereadMax: MAX })
  try {
    q.walkStarts(Buffer.from(edir))
    const [w] = await windowsOf(q, edir)
    const read = w?.texts.filter((_n, j) => w.pre?.contents(j) !== null) ?? []
    t.equal(read.length, Math.floor(1024 * 1024 / 6000), 'a window of 400 files of 6,000 bytes: the first 1 MiB of them read')
    t.same(read, w?.texts.slice(0, read.length), 'in order; the rest left to the save')
  } finally {
    await q.close()
  }
})

t.test('reading ahead leaves access times as they were (O_NOATIME)', { skip: process.getuid?.() !== 0 ? 'O_NOATIME on files of other owners needs root' : false }, async t => {
  const root = path.join(tmpDirFor(t), 'src')
  const children: Record<string, FixtureNode> = {}
  for (let i = 0; i < 20; i++) children[`f${i}`] = { type: 'file', size: 500 + i, seed: i, uid: 12345 }
  buildTree(root, { type: 'dir', children: { d: { type: 'dir', children } } })
  const dir = path.join(root, 'd')
  const old = new Date('2001-02-03T04:05:06Z')
  const files = Object.keys(children).map(n => path.join(dir, n))
  for (const f of files) fs.utimesSync(f, old, fs.statSync(f).mtime)
  const p = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, prereadMax: MAX })
  try {
    p.walkStarts(Buffer.from(dir))
    const [w] = await windowsOf(p, dir)
    t.ok(w?.texts.every((_n, k) => w.pre?.contents(k) !== null), 'every file was read')
  } finally {
    await p.close()
  }
  t.same(files.filter(f => fs.statSync(f).atimeMs !== old.getTime()), [], 'no atime changed')
})

t.test('a save with pre-reading stores the same tree as one without', async t => {
  if (process.getuid?.() !== 0) return void t.fail('the full fixture has devices and owners: run as root')
  const src = path.join(tmpDirFor(t), 'src')
  buildTree(src, fullFixture(64 * 1024))
  // Past the racy window (racy.ts), so that both saves mark the same files racy.
  await new Promise(r => setTimeout(r, 2100))
  const trees: string[] = []
  for (const prereadMax of [MAX, undefined]) {
    const savedir = path.join(tmpDirFor(t), 'sd')
    initSavedir(savedir)
    const config = readConfig(savedir)
    const readAhead = new ReadAhead({ exclude: [], oneFileSystem: false, contentsSince: 0, ...(prereadMax !== undefined ? { prereadMax } : {}) })
    const reporter = new WarningReporter(true)
    const r = await save({ savedir, config, subset: 's', selection: buildSelection([Buffer.from(src)], true, '/'), reporter, readAhead })
    t.equal(r.summary.warnings, 0, 'no warnings')
    // (src's own tree: the directories above it change as the test makes savedirs.)
    const store = new ObjectStore(savedir, config, { workers: 1 })
    try {
      const e = await lookup(store, Buffer.from(r.summary.root as string, 'hex'), savedComponents(src))
      trees.push((e?.tree as Buffer).toString('hex'))
    } finally {
      await store.close()
    }
  }
  t.equal(trees[0], trees[1], 'the same tree, hash for hash')
})
