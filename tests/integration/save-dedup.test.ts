// Deduplication: saving an unchanged tree again stores nothing (whether files are reused from
// the reference or read again with --force-read), leaves the source's atimes alone, and two
// copies of one file store its chunks once. Object counts are taken from the savedir itself
// (chunks/*/*.data), not only from what the save reports.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, fullFixture, seededBytes, setTimesNs } from '../helpers/fixture-tree.js'
import { snapshotTree, type NodeSnapshot } from '../helpers/tree-snapshot.js'
import { compareTrees } from '../helpers/compare-trees.js'
import { added, newSavedir, objectNames, saveOk, stableTmpDir, summaryOf } from '../helpers/cli.js'
import { reachableObjects, savedContent, savedSubtree, sha256, withStore } from '../helpers/saved-tree.js'
import { ObjectKind } from '../../lib/codec/object-header.js'

const NS = 1_000_000_000n
/** 2021-01-01: long past, so relatime would update an atime equal to it on any read. */
const PAST = 1_609_459_200n * NS

t.test('saving an unchanged tree again adds no object and leaves atimes alone', async t => {
  const base = stableTmpDir(t, 'tarshift-dedup')
  const src = path.join(base, 'src')
  buildTree(src, fullFixture(3 * 1024 * 1024))
  // buildTree set every atime to its mtime; most are years old, all are ≤ mtime (post-2038 equal).
  const before = snapshotTree(src)
  const files = before.filter(n => n.type === 'file')
  t.ok(files.every(n => n.atimeNs <= n.mtimeNs), 'every file\'s atime is at or before its mtime: relatime would update it on a read')

  // Control: an ordinary read does update such an atime on this filesystem.
  const control = path.join(base, 'control')
  fs.writeFileSync(control, 'read me\n')
  setTimesNs([[control, PAST]])
  fs.readFileSync(control)
  const controlAtime = fs.statSync(control, { bigint: true }).atimeNs
  if (controlAtime === PAST) t.comment('this filesystem does not update atimes on read (noatime?): the atime checks prove less here')
  else t.pass('a plain read updates the atime here (relatime): the atime checks below are meaningful')

  const savedir = newSavedir(t, ['--chunk-size', '256K'])
  const first = saveOk(savedir, 'dedup', [src])
  t.ok(first.objectsNew > 10, `the first save stored ${first.objectsNew} objects`)
  const objects1 = objectNames(savedir)
  t.equal(objects1.size, first.objectsNew, 'objectsNew counts the objects written')

  const second = saveOk(savedir, 'dedup', [src])
  t.equal(second.objectsNew, 0, 'second save (files reused from the reference): objectsNew 0')
  t.equal(second.bytesNew, 0, 'and bytesNew 0')
  t.same(added(objects1, objectNames(savedir)), new Set(), 'no .data file added')
  // A file whose mtime is not safely in the past (here: in 2100) is racy: never reused, read again.
  const future = files.filter(n => n.mtimeNs > BigInt(Date.now()) * 1_000_000n).length
  t.equal(future, 1, 'the fixture has one file with a future mtime')
  t.equal(second.filesRead, future, 'no file read but the racy one: all others reused')

  const third = saveOk(savedir, 'dedup', ['--force-read', src])
  t.ok(third.filesRead > 20, `--force-read read ${third.filesRead} files again`)
  t.equal(third.objectsNew, 0, 'third save (everything read again): objectsNew 0')
  t.same(added(objects1, objectNames(savedir)), new Set(), 'no .data file added')

  const roots = [first, second, third].map(s => summaryOf(savedir, s.id).root)
  t.equal(roots[1], roots[0], 'the second save has the first one\'s root tree')
  t.equal(roots[2], roots[0], 'so has the third')

  const after = snapshotTree(src)
  t.same(compareTrees(before, after, { compareAtime: true, labels: ['before', 'after'] }), [], 'the source is unchanged, atimes of files included')
  const atimes = (s: NodeSnapshot[]): string[] => s.filter(n => n.type === 'file').map(n => `${n.path.toString('hex')} ${n.atimeNs}`)
  t.same(atimes(after), atimes(before), 'every regular file keeps its atime to the nanosecond')
})

t.test('two copies of one 20 MiB file store its chunks once', async t => {
  const base = stableTmpDir(t, 'tarshift-dedup')
  const src = path.join(base, 'src')
  const size = 20 * 1024 * 1024
  const content = seededBytes(size, 42)
  buildTree(src, {
    type: 'dir',
    mtimeNs: PAST,
    children: {
      'a.bin': { type: 'file', content, mtimeNs: PAST },
      dir: { type: 'dir', mtimeNs: PAST, children: { sub: { type: 'dir', mtimeNs: PAST, children: { 'b.bin': { type: 'file', content, mtimeNs: PAST } } } } },
    },
  })
  const savedir = newSavedir(t, ['--chunk-size', '256K'])
  const before = objectNames(savedir)
  t.equal(before.size, 0, 'a new savedir holds no object')
  const s = saveOk(savedir, 'dedup', [src])
  const objs = added(before, objectNames(savedir))
  const summary = summaryOf(savedir, s.id)

  await withStore(savedir, async store => {
    const items = await savedSubtree(store, summary.root as string, src)
    const a = items.find(i => i.rel.toString() === 'a.bin')?.entry
    const b = items.find(i => i.rel.toString() === 'dir/sub/b.bin')?.entry
    if (!a || !b) throw new Error('a.bin or b.bin not saved')
    const chunksA = (a.chunks ?? []).map(c => `${c.hash.toString('hex')}:${c.length}`)
    t.ok(chunksA.length >= 40, `a.bin is ${chunksA.length} chunks`)
    t.same((b.chunks ?? []).map(c => `${c.hash.toString('hex')}:${c.length}`), chunksA, 'b.bin has the same chunk list')
    t.equal(new Set(chunksA).size, chunksA.length, 'random content: no chunk repeats within the file')
    t.equal(sha256(await savedContent(store, b)), sha256(content), 'b.bin\'s content is right')

    const reach = await reachableObjects(store, summary.root as string)
    t.same([...objs].sort(), [...new Set([...reach.trees, ...reach.chunks])].sort(), 'the objects written are exactly those the saveset references')
    let dataObjects = 0
    for (const h of objs) if ((await store.get(h)).kind === ObjectKind.Data) dataObjects++
    t.equal(dataObjects, chunksA.length, 'one data object per chunk of ONE copy')
    t.equal(objs.size, chunksA.length + reach.trees.size, 'plus one tree per directory, nothing else')
  })
  t.equal(s.objectsNew, objs.size, 'the save reports the number of objects it added')
  t.ok(summary.bytesNew < size * 1.05, `bytesNew ${summary.bytesNew} is about one copy (${size}), not two`)
  t.ok(summary.bytesNew >= size, 'random data does not compress: at least one copy')
  t.equal(summary.bytesTotal, 2 * size, 'bytesTotal counts both copies')
})
