// The save's read-ahead walks what the save will walk, in the same order, skips what the
// save skips, and stays within its lookahead of the save's progress.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { ReadAhead } from '../../lib/save/read-ahead.js'
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
