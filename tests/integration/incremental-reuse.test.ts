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
})
