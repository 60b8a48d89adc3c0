// Incremental saves (DESIGN.md §3) through the real CLI: a second save of an unchanged tree
// reads no file and stores no object, names the first save as its reference, and a changed file
// is the only one read; a one-byte insertion into a large file stores only the chunks around it
// (content-defined chunking), everything else is deduplicated.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, seededBytes, setMtimeNs, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, stableTmpDir } from '../helpers/cli.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { sha256File } from '../helpers/tree-snapshot.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { hoursAgoNs, incSave, objectKinds, reachableFrom, restoreVia, summariesNow, withStoreOf } from '../helpers/run-cli-incremental.js'

const DIRS = 100
const FILES_PER_DIR = 100
const KiB = 1024
const MiB = 1024 * KiB
/** Above the 16 KiB inline limit: stored as chunks (2 MiB average chunker). */
const BIG_FILES: Record<string, number> = { 'b20k.bin': 20 * KiB + 7, 'b3m.bin': 3 * MiB + 17, 'b5m.bin': 5 * MiB + 3 }
const REGULAR_FILES = DIRS * FILES_PER_DIR + Object.keys(BIG_FILES).length

function name3(i: number): string {
  return String(i).padStart(3, '0')
}

/** 100 dirs × 100 files of 1–4 KiB, and a dir of a few files > 16 KiB; every mtime 2 h ago. */
function tenThousandFiles(): FixtureNode {
  const old = hoursAgoNs(2)
  const children: Record<string, FixtureNode> = {}
  for (let d = 0; d < DIRS; d++) {
    const files: Record<string, FixtureNode> = {}
    for (let f = 0; f < FILES_PER_DIR; f++) {
      const i = d * FILES_PER_DIR + f
      files[`f${name3(f)}`] = { type: 'file', size: KiB + ((i * 2654435761) % (3 * KiB + 1)), seed: 10_000 + i, mtimeNs: old }
    }
    children[`d${name3(d)}`] = { type: 'dir', children: files, mtimeNs: old }
  }
  const big: Record<string, FixtureNode> = {}
  let seed = 500
  for (const [n, size] of Object.entries(BIG_FILES)) big[n] = { type: 'file', size, seed: seed++, mtimeNs: old }
  children.big = { type: 'dir', children: big, mtimeNs: old }
  return { type: 'dir', children, mtimeNs: old }
}

t.test('unchanged 10,000-file tree: nothing read, nothing stored; one changed file is the only one read', async t => {
  // Under "/" (stableTmpDir): the saved ancestors' mtimes change only when we change them, so
  // an unchanged save really is unchanged down to the root tree.
  const src = path.join(stableTmpDir(t, 'tarshift-incremental'), 'src')
  buildTree(src, tenThousandFiles())
  const savedir = newSavedir(t)
  const cache = tmpDirFor(t, 'tarshift-inc-cache-')

  const s1 = incSave(savedir, 'inc', [src], cache)
  t.equal(s1.filesRead, REGULAR_FILES, 'first save reads every regular file')
  t.same(s1.references, [], 'first save has no reference')
  const kinds1 = objectKinds(savedir)
  t.ok([...kinds1.values()].filter(k => k === ObjectKind.Data).length >= 4, 'the big files are stored as data chunks')

  const s2 = incSave(savedir, 'inc', [src], cache)
  t.equal(s2.files, s1.files, 'same file count')
  t.equal(s2.filesRead, 0, 'second save of the unchanged tree opens no file')
  t.equal(s2.filesReused, REGULAR_FILES, 'every regular file is reused from the reference')
  t.equal(s2.objectsNew, 0, 'no new object')
  t.equal(s2.bytesNew, 0, 'no new bytes')
  t.same(s2.references, [s1.id], 'the first save is the reference')
  const kinds2 = objectKinds(savedir)
  t.same([...kinds2.keys()].filter(h => !kinds1.has(h)), [], 'no new .data file in SAVEDIR/chunks/*/')
  const sums = summariesNow(savedir)
  const root1 = sums.find(s => s.id === s1.id)?.root
  const sum2 = sums.find(s => s.id === s2.id)
  t.ok(sum2?.finish, 'second save completed')
  t.equal(sum2?.root, root1, 'identical root tree hash')

  // One file changed: new content of the same size, another (old) mtime.
  const changed = path.join(src, 'd042', 'f017')
  const size = fs.statSync(changed).size
  fs.writeFileSync(changed, seededBytes(size, 424242))
  setMtimeNs(changed, hoursAgoNs(1.5))
  const s3 = incSave(savedir, 'inc', [src], cache)
  t.equal(s3.filesRead, 1, 'exactly one file read')
  t.equal(s3.filesReused, REGULAR_FILES - 1, 'all others reused')
  t.equal(s3.bytesRead, size, 'the bytes read are those of the changed file')
  t.equal(s3.references[0], s2.id, 'the most recent save is the first reference')
  const kinds3 = objectKinds(savedir)
  const new3 = [...kinds3.entries()].filter(([h]) => !kinds2.has(h))
  t.ok(new3.length > 0 && new3.every(([, k]) => k === ObjectKind.Tree || k === ObjectKind.TreeIndex),
    `only trees are new (the changed file is inline): ${new3.map(([, k]) => k).join(',')}`)

  // The directory of the changed file restores as it is now (the whole tree's round trip is
  // other tests' business; 10,000 files would double this test's time).
  const out = path.join(tmpDirFor(t, 'tarshift-inc-out-'), 'out')
  const d042 = path.join(src, 'd042')
  const r = restoreVia(savedir, s3.id, out, path.join(path.dirname(out), 'r.tar'), d042)
  t.equal(r.restore.status, 0, `restore: ${r.restore.stderr}`)
  t.equal(r.extract, 0, `tar -x: ${r.tarStderr}`)
  assertSameTree(t, d042, path.join(out, d042), { labels: ['source', 'restored'] })
})

t.test('a one-byte insertion in the middle of a 64 MiB file stores at most 3 new data chunks', async t => {
  const dir = tmpDirFor(t, 'tarshift-inc-insert-')
  const src = path.join(dir, 'src')
  const file = path.join(src, 'huge.bin')
  const original = seededBytes(64 * MiB, 4711)
  buildTree(src, { type: 'dir', children: { 'huge.bin': { type: 'file', content: original, mtimeNs: hoursAgoNs(3) } } })
  const savedir = newSavedir(t)
  const cache = path.join(dir, 'cache')

  const s1 = incSave(savedir, 'insert', [src], cache)
  t.equal(s1.filesRead, 1)
  const kinds1 = objectKinds(savedir)
  const data1 = [...kinds1.values()].filter(k => k === ObjectKind.Data).length
  t.ok(data1 >= 8, `64 MiB cut into many chunks (${data1})`)

  const mid = original.length / 2 + 12345
  const edited = Buffer.concat([original.subarray(0, mid), Buffer.from([0x5a]), original.subarray(mid)])
  fs.writeFileSync(file, edited)
  setMtimeNs(file, hoursAgoNs(2))
  const s2 = incSave(savedir, 'insert', [src], cache)
  t.equal(s2.filesRead, 1, 'the edited file is read')
  t.same(s2.references, [s1.id])
  const kinds2 = objectKinds(savedir)
  const newData = [...kinds2.entries()].filter(([h, k]) => !kinds1.has(h) && k === ObjectKind.Data)
  const newTrees = [...kinds2.entries()].filter(([h, k]) => !kinds1.has(h) && k !== ObjectKind.Data)
  t.ok(newData.length >= 1 && newData.length <= 3, `new data chunks: ${newData.length} (1..3)`)
  t.ok(newTrees.length >= 1, 'the trees on the path are new')
  t.ok(s2.bytesNew < 3 * 8 * MiB + 64 * KiB, `bytes stored: ${s2.bytesNew}`)

  // The two versions share every chunk but those around the insertion.
  const rel = file.slice(1)
  const [c1, c2] = await withStoreOf(savedir, async store => {
    const sums = summariesNow(savedir)
    const r1 = await reachableFrom(store, sums.find(s => s.id === s1.id)?.root as string)
    const r2 = await reachableFrom(store, sums.find(s => s.id === s2.id)?.root as string)
    return [r1.fileChunks.get(rel) ?? [], r2.fileChunks.get(rel) ?? []]
  })
  const shared = c2.filter(h => c1.includes(h)).length
  t.ok(c2.length - shared <= 3 && shared >= c1.length - 3, `shared chunks ${shared} of ${c1.length} → ${c2.length}`)

  const out = path.join(dir, 'out')
  const r = restoreVia(savedir, s2.id, out, path.join(dir, 'r.tar'), file)
  t.equal(r.restore.status, 0, `restore: ${r.restore.stderr}`)
  t.equal(r.extract, 0, `tar -x: ${r.tarStderr}`)
  t.equal(sha256File(path.join(out, file)), sha256File(file), 'the edited file restores byte-exact')
})
