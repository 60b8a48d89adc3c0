// What an unchanged save takes from its reference without looking again (DESIGN.md §3):
// - a directory whose entries all equal a reference tree's uses that tree object (and its parts,
//   for a tree index), after making sure they exist and refreshing their last-use time;
// - an entry whose ctime and inode equal the reference's, that ctime older than the reference
//   save's start, keeps the reference's xattrs (an xattr change sets the ctime).
// Neither may hide a change: each change below must show in the next saveset.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir } from '../helpers/cli.js'
import { native } from '../../lib/fs/native.js'
import { lookup, savedComponents } from '../../lib/restore/saveset-walk.js'
import { treeObjects } from '../../lib/tree/tree-store.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { incSave, lastUseMs, shiftObjectTimes, summaryById, withStoreOf } from '../helpers/run-cli-incremental.js'
import type { ObjectStore } from '../../lib/repo/object-store.js'
import { writeSummary, type SavesetSummary } from '../../lib/repo/saveset.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'
import { readTree } from '../../lib/tree/tree-store.js'
import { writeTree } from '../../lib/tree/tree-writer.js'

const BIG = 3000

function spec(): FixtureNode {
  const many: Record<string, FixtureNode> = {}
  for (let i = 0; i < BIG; i++) many[`file-with-a-long-name-${String(i).padStart(5, '0')}.txt`] = { type: 'file', content: '' }
  return {
    type: 'dir',
    xattrs: { 'user.dir': 'top' },
    children: {
      'x.bin': { type: 'file', size: 5000, seed: 1, xattrs: { 'user.bin': Buffer.from([0, 255, 10]), 'user.other': 'o' } },
      sub: { type: 'dir', children: { 'y.txt': { type: 'file', content: 'y', xattrs: { 'user.y': 'v1' } } } },
      big: { type: 'dir', children: many },
      'link-same': { type: 'symlink', target: 'x.bin' },
      'link-changed': { type: 'symlink', target: 'sub/y.txt' },
    },
  }
}

async function entryAt(savedir: string, id: string, p: string) {
  return withStoreOf(savedir, store => lookup(store, Buffer.from(summaryById(savedir, id).root as string, 'hex'), savedComponents(p)))
}

t.test('unchanged directories reuse their trees; changed xattrs and modes still show', async t => {
  const dir = tmpDirFor(t, 'tarshift-inc-reuse-')
  const src = path.join(dir, 'src')
  buildTree(src, spec())
  // ctimes must lie more than 2 s before the first save starts for the xattrs to be reusable.
  await new Promise(r => setTimeout(r, 2300))
  // 64 KiB chunks: trees over 256 KiB are split, so "big" is a tree index with parts.
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  // The cache lives outside the saved path's parents: deleting it must not change them.
  const cache = path.join(tmpDirFor(t, 'tarshift-inc-reuse-cache-'), 'cache')
  const srcTree = async (id: string): Promise<string> => ((await entryAt(savedir, id, src))?.tree as Buffer).toString('hex')

  const s1 = incSave(savedir, 'reuse', [src], cache)
  const bigTree = (await entryAt(savedir, s1.id, path.join(src, 'big')))?.tree as Buffer
  const parts = await withStoreOf(savedir, store => treeObjects(store, bigTree))
  t.equal(parts.kind, ObjectKind.TreeIndex, 'the big directory is a tree index')
  t.ok(parts.parts.length >= 2, `with parts (${parts.parts.length})`)

  const s2 = incSave(savedir, 'reuse', [src], cache)
  // (The root itself records the parents of src, /tmp among them, which other tests change.)
  t.equal(await srcTree(s2.id), await srcTree(s1.id), 'unchanged: the same tree')
  t.equal(s2.filesRead, 0)

  // Objects last used two days ago, no cache: the reused trees, index parts included, are
  // checked and refreshed as they are reused.
  shiftObjectTimes(savedir, -2 * 86400_000)
  fs.rmSync(cache, { recursive: true, force: true })
  const before = Date.now() - 1000
  const s3 = incSave(savedir, 'reuse', [src], cache)
  t.equal(await srcTree(s3.id), await srcTree(s1.id), 'still the same tree')
  for (const h of [bigTree, ...parts.parts]) t.ok((lastUseMs(savedir, h.toString('hex')) ?? 0) >= before, `tree object ${h.toString('hex').slice(0, 12)} refreshed`)

  // Removing a part of the reused index: the save must notice and write the tree again.
  const gone = parts.parts[0] as Buffer
  fs.rmSync(path.join(savedir, 'chunks', gone.toString('hex').slice(0, 2), `${gone.toString('hex')}.data`))
  fs.rmSync(cache, { recursive: true, force: true })
  const s4 = incSave(savedir, 'reuse', [src], cache)
  t.equal(await srcTree(s4.id), await srcTree(s1.id), 'same content, same tree')
  t.ok(fs.existsSync(path.join(savedir, 'chunks', gone.toString('hex').slice(0, 2), `${gone.toString('hex')}.data`)), 'the missing part was written again')

  // Changes: a new xattr value, a removed xattr, a mode in the big directory.
  native.lsetxattr(Buffer.from(path.join(src, 'sub', 'y.txt')), Buffer.from('user.y'), Buffer.from('v2'))
  fs.chmodSync(path.join(src, 'big', 'file-with-a-long-name-01234.txt'), 0o600)
  const s5 = incSave(savedir, 'reuse', [src], cache)
  t.not(await srcTree(s5.id), await srcTree(s1.id), 'changed: a new tree')
  const y = await entryAt(savedir, s5.id, path.join(src, 'sub', 'y.txt'))
  t.same(y?.xattrs?.map(([k, v]) => [k.toString(), v.toString()]), [['user.y', 'v2']], 'the new xattr value is saved')
  const f = await entryAt(savedir, s5.id, path.join(src, 'big', 'file-with-a-long-name-01234.txt'))
  t.equal(f?.mode, 0o600, 'the new mode is saved')
  const x = await entryAt(savedir, s5.id, path.join(src, 'x.bin'))
  t.same(x?.xattrs?.map(([k, v]) => [k.toString(), v.toString('hex')]), [['user.bin', '00ff0a'], ['user.other', Buffer.from('o').toString('hex')]], 'unchanged xattrs kept, binary values exact')
  const top = await entryAt(savedir, s5.id, src)
  t.same(top?.xattrs?.map(([k, v]) => [k.toString(), v.toString()]), [['user.dir', 'top']])

  // Symlinks: a target is fixed when the link is made, so one with the reference's inode and
  // ctime keeps the reference's target; a link made again (same length, other target) shows.
  fs.rmSync(path.join(src, 'link-changed'))
  fs.symlinkSync('sub/z.txt', path.join(src, 'link-changed'))
  const s6 = incSave(savedir, 'reuse', [src], cache)
  t.equal((await entryAt(savedir, s6.id, path.join(src, 'link-changed')))?.target?.toString(), 'sub/z.txt', 'a link made again: its new target')
  t.equal((await entryAt(savedir, s6.id, path.join(src, 'link-same')))?.target?.toString(), 'x.bin', 'an unchanged link: its target')
})

t.test('an unchanged symlink takes its target from the reference without reading the link', async t => {
  const dir = tmpDirFor(t, 'tarshift-inc-link-')
  const src = path.join(dir, 'src')
  buildTree(src, { type: 'dir', children: { l: { type: 'symlink', target: 'aaaa' }, f: { type: 'file', content: 'f' } } })
  await new Promise(r => setTimeout(r, 2300)) // ctimes over 2 s before the first save
  const savedir = newSavedir(t)
  const cache = path.join(tmpDirFor(t, 'tarshift-inc-link-cache-'), 'cache')
  const s1 = incSave(savedir, 'link', [src], cache)
  // A reference that says the same inode and ctime had another target (of the same length):
  // the next save carries it over, which shows the link was not read; --force-read reads it.
  const fake = await withStoreOf(savedir, store => rewriteEntry(store, summaryById(savedir, s1.id), src, 'l', e => ({ ...e, target: Buffer.from('bbbb') })))
  writeSummary(savedir, { ...summaryById(savedir, s1.id), id: s1.id.replace(/_[0-9a-f]{8}$/, '_00000001'), root: fake.toString('hex') })
  fs.rmSync(path.join(savedir, 'savesets', `${s1.id}.json`))
  const s2 = incSave(savedir, 'link', [src], cache)
  t.equal((await entryAt(savedir, s2.id, path.join(src, 'l')))?.target?.toString(), 'bbbb', 'the reference\'s target, not read again')
  const s3 = incSave(savedir, 'link', [src, '--force-read'], cache)
  t.equal((await entryAt(savedir, s3.id, path.join(src, 'l')))?.target?.toString(), 'aaaa', '--force-read reads the link')
})

/** The root of a copy of saveset `s`'s tree in which the entry `name` in directory `dir` is changed by `change`. */
async function rewriteEntry(store: ObjectStore, s: SavesetSummary, dir: string, name: string, change: (e: Entry) => Entry): Promise<Buffer> {
  const comps = dir.split('/').filter(Boolean)
  const rewrite = async (tree: Buffer, depth: number): Promise<Buffer> => {
    const entries: Entry[] = []
    for (const e of await readTree(store, tree)) {
      if (depth < comps.length && e.type === EntryType.Dir && e.name.toString() === comps[depth]) entries.push({ ...e, tree: await rewrite(e.tree as Buffer, depth + 1) })
      else if (depth === comps.length && e.name.toString() === name) entries.push(change(e))
      else entries.push(e)
    }
    const root = await writeTree(store, entries)
    await store.flush()
    return root
  }
  return rewrite(Buffer.from(s.root as string, 'hex'), 0)
}
