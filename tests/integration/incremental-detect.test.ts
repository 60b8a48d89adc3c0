// How a save decides that a file is unchanged (DESIGN.md §3): same type, size, mtime (ns), ctime
// (ns) and inode as in a reference; --ignore-inode drops only the inode; --force-read reads all.
// A file is reused without being opened only when all of them match; an mtime-only change, a
// file replaced by a copy with the same size and mtime (new inode, new ctime) are read again.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, setMtimeNs, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir } from '../helpers/cli.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { listSummaries, writeSummary, type SavesetSummary } from '../../lib/repo/saveset.js'
import { EntryType, timespecToNs, type Entry } from '../../lib/tree/entry.js'
import { findEntry, readTree } from '../../lib/tree/tree-store.js'
import { writeTree } from '../../lib/tree/tree-writer.js'
import { hoursAgoNs, incSave, objectKinds, restoreVia } from '../helpers/run-cli-incremental.js'
import { ObjectKind } from '../../lib/codec/object-header.js'

const KiB = 1024

/** 12 files: inline ones and chunked ones (> 16 KiB), in two directories; mtimes 3 h ago. */
function smallTree(): { spec: FixtureNode; files: number } {
  const old = hoursAgoNs(3)
  const file = (size: number, seed: number): FixtureNode => ({ type: 'file', size, seed, mtimeNs: old })
  const spec: FixtureNode = {
    type: 'dir',
    mtimeNs: old,
    children: {
      a: { type: 'dir', mtimeNs: old, children: { 'a1.txt': file(100, 1), 'a2.txt': file(2000, 2), 'a3.bin': file(40 * KiB, 3), 'a4.bin': file(300 * KiB, 4) } },
      b: { type: 'dir', mtimeNs: old, children: { 'b1.txt': file(10, 5), 'b2.bin': file(70 * KiB, 6), 'b3.txt': file(4000, 7), 'b4.bin': file(1100 * KiB, 8) } },
      'top1.txt': file(500, 9),
      'top2.bin': file(20 * KiB, 10),
      'top3.txt': file(1, 11),
      'top4.bin': file(2 * 1024 * KiB + 5, 12),
    },
  }
  return { spec, files: 12 }
}

/** Replaces `p` by a copy with the same bytes and the same mtime (ns): a new inode, a new ctime. */
function replaceWithCopy(p: string): void {
  const before = fs.statSync(p, { bigint: true })
  const tmp = path.join(path.dirname(p), `.${path.basename(p)}.tmp`)
  fs.copyFileSync(p, tmp)
  setMtimeNs(tmp, before.mtimeNs)
  fs.renameSync(tmp, p)
}

t.test('mtime-only change, replaced file (new inode), --ignore-inode, --force-read', async t => {
  const dir = tmpDirFor(t, 'tarshift-inc-detect-')
  const src = path.join(dir, 'src')
  const { spec, files } = smallTree()
  buildTree(src, spec)
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const cache = path.join(dir, 'cache')

  const s1 = incSave(savedir, 'detect', [src], cache)
  t.equal(s1.filesRead, files, 'first save reads all')
  const s2 = incSave(savedir, 'detect', [src], cache)
  t.equal(s2.filesRead, 0, 'unchanged: nothing read')

  // touch -m with another time, same content.
  const touched = path.join(src, 'a', 'a3.bin')
  setMtimeNs(touched, hoursAgoNs(2))
  const s3 = incSave(savedir, 'detect', [src], cache)
  t.equal(s3.filesRead, 1, 'an mtime-only change is read again')
  t.equal(s3.bytesRead, fs.statSync(touched).size, 'and it is that file')
  t.equal(s3.objectsNew > 0, true, 'the trees on its path change (new mtime)')

  // Same size, same mtime (ns), new inode (cp, set mtime, mv over).
  const replaced = path.join(src, 'b', 'b2.bin')
  const st0 = fs.statSync(replaced, { bigint: true })
  replaceWithCopy(replaced)
  const st1 = fs.statSync(replaced, { bigint: true })
  t.not(st1.ino, st0.ino, 'the copy has a new inode')
  t.equal(st1.size, st0.size, 'same size')
  t.equal(st1.mtimeNs, st0.mtimeNs, 'same mtime to the ns')
  const s4 = incSave(savedir, 'detect', [src], cache)
  t.equal(s4.filesRead, 1, 'a file replaced with the same size and mtime is read again')
  t.equal(s4.bytesRead, Number(st1.size), 'and it is that file')

  // --ignore-inode on a replaced file: DESIGN.md §3 drops only the inode from the comparison,
  // but ctime stays in it, and a new file's ctime is when it was created/renamed: it cannot be
  // set back from user space. So the replaced file is still read, and rightly so: an unchanged
  // ctime is what makes the reuse safe when inode numbers are not stable (sshfs).
  const replaced2 = path.join(src, 'a', 'a1.txt')
  const r0 = fs.statSync(replaced2, { bigint: true })
  replaceWithCopy(replaced2)
  const r1 = fs.statSync(replaced2, { bigint: true })
  t.not(r1.ctimeNs, r0.ctimeNs, 'the copy has a new ctime')
  const s5 = incSave(savedir, 'detect', [src, '--ignore-inode'], cache)
  t.equal(s5.filesRead, 1, '--ignore-inode still reads a replaced file: its ctime differs')
  t.equal(s5.filesReused, files - 1, 'the others are reused')

  const s6 = incSave(savedir, 'detect', [src], cache)
  t.equal(s6.filesRead, 0, 'all unchanged again')
  const before7 = objectKinds(savedir)
  const s7 = incSave(savedir, 'detect', [src, '--force-read'], cache)
  t.equal(s7.filesRead, files, '--force-read reads every regular file')
  t.equal(s7.filesReused, 0, '--force-read reuses nothing')
  t.equal(s7.bytesRead, s6.bytesTotal, 'every byte is read')
  // (Trees may be new: the saved ancestors include /tmp, whose mtime other tests change.)
  const newData = [...objectKinds(savedir).entries()].filter(([h, k]) => !before7.has(h) && k === ObjectKind.Data)
  t.same(newData, [], 'and stores no new data chunk: the content is the same')

  const out = path.join(dir, 'out')
  const r = restoreVia(savedir, s7.id, out, path.join(dir, 'r.tar'), src)
  t.equal(r.restore.status, 0, `restore: ${r.restore.stderr}`)
  t.equal(r.extract, 0, `tar -x: ${r.tarStderr}`)
  assertSameTree(t, src, path.join(out, src), { labels: ['source', 'restored'] })
})

/**
 * A copy of saveset `s` whose every regular file entry has another inode number: what a save
 * through an sshfs mount without use_ino, remounted, would have recorded. Written through the
 * library as a completed saveset with a new id.
 */
async function renumberInodes(savedir: string, s: SavesetSummary, newId: string): Promise<SavesetSummary> {
  const store = new ObjectStore(savedir, readConfig(savedir), { workers: 1 })
  try {
    const rewrite = async (hash: Buffer): Promise<Buffer> => {
      const entries: Entry[] = []
      for (const e of await readTree(store, hash)) {
        if (e.type === EntryType.Dir && e.tree) entries.push({ ...e, tree: await rewrite(e.tree) })
        else if (e.type === EntryType.File) entries.push({ ...e, ino: Number(e.ino) + 1_000_003 })
        else entries.push(e)
      }
      return writeTree(store, entries)
    }
    const root = await rewrite(Buffer.from(s.root as string, 'hex'))
    await store.flush()
    const copy: SavesetSummary = { ...s, id: newId, root: root.toString('hex') }
    writeSummary(savedir, copy)
    return copy
  } finally {
    await store.close()
  }
}

t.test('--ignore-inode reuses files whose inode numbers changed (and only then)', async t => {
  const dir = tmpDirFor(t, 'tarshift-inc-inode-')
  const src = path.join(dir, 'src')
  const { spec, files } = smallTree()
  buildTree(src, spec)
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const cache = path.join(dir, 'cache')
  const s1 = incSave(savedir, 'inode', [src], cache)
  const sum1 = listSummaries(savedir).find(s => s.id === s1.id) as SavesetSummary
  const fake = await renumberInodes(savedir, sum1, s1.id.replace(/_[0-9a-f]{8}$/, '_00000001'))
  // The renumbered copy is the only reference left.
  fs.rmSync(path.join(savedir, 'savesets', `${s1.id}.json`))
  // Check the copy really differs only in inode numbers.
  {
    const store = new ObjectStore(savedir, readConfig(savedir), { workers: 1 })
    try {
      const comps = src.split('/').filter(Boolean)
      let tree: Buffer = Buffer.from(fake.root as string, 'hex')
      for (const c of comps) tree = findEntry(await readTree(store, tree), Buffer.from(c))?.tree as Buffer
      const e = findEntry(await readTree(store, tree), Buffer.from('top1.txt')) as Entry
      const st = fs.statSync(path.join(src, 'top1.txt'), { bigint: true })
      t.equal(BigInt(e.ino), st.ino + 1_000_003n, 'the copy has other inode numbers')
      t.equal(timespecToNs(e.ctime), st.ctimeNs, 'and the same ctimes')
    } finally {
      await store.close()
    }
  }

  const withFlag = incSave(savedir, 'inode', [src, '--ignore-inode'], cache)
  t.same(withFlag.references, [fake.id], 'the renumbered saveset is the reference')
  t.equal(withFlag.filesRead, 0, '--ignore-inode: nothing read although every inode number differs')
  t.equal(withFlag.filesReused, files)
  // Drop that save again, so that the renumbered copy is the only reference once more.
  fs.rmSync(path.join(savedir, 'savesets', `${withFlag.id}.json`))
  const without = incSave(savedir, 'inode', [src], cache)
  t.same(without.references, [fake.id])
  t.equal(without.filesRead, files, 'without --ignore-inode: every file is read (inode differs)')
})
