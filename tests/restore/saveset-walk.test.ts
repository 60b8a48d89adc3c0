// The saveset walk reads a directory's tree a part at a time: a directory whose small files
// are inline is a tree index of several parts, and the walk gives its entries (and those of
// subdirectories between them) in tar order, the same as reading every tree whole; GNU tar
// restores it byte for byte.
import t from 'tap'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, saveOk, summaryOf } from '../helpers/cli.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'
import { restoreToTar } from '../helpers/restore-run.js'
import { walkTree, joinRel } from '../../lib/restore/saveset-walk.js'
import { readTree, treeObjects } from '../../lib/tree/tree-store.js'
import { EntryType } from '../../lib/tree/entry.js'
import type { ObjectStore } from '../../lib/repo/object-store.js'

/** Paths below `tree`, depth first, each tree read whole: what the walk must give. */
async function wholeWalk(store: ObjectStore, tree: Buffer, prefix: Buffer, out: string[] = []): Promise<string[]> {
  for (const e of await readTree(store, tree)) {
    const p = joinRel(prefix, e.name)
    out.push(`${p.toString('latin1')} ${e.type} ${e.size ?? ''} ${e.data?.length ?? ''}`)
    if (e.type === EntryType.Dir && e.tree) await wholeWalk(store, e.tree, p, out)
  }
  return out
}

t.test('a tree of several parts is walked a part at a time, in order', async t => {
  const dir = tmpDirFor(t, 'tarshift-walk-parts-')
  const src = path.join(dir, 'src')
  const files: Record<string, FixtureNode> = {}
  // 260 inline files of 10 KB (about 2.6 MB of tree, parts of at most 256 KiB in a savedir
  // of 64 KiB chunks: more than the walk reads ahead), with subdirectories among them, so that
  // the walk goes down into a subdirectory between the entries of one part and those of the next.
  for (let i = 0; i < 260; i++) {
    files[`f${String(i).padStart(3, '0')}`] = { type: 'file', size: 10_000, seed: 7 + i }
    if (i % 30 === 0) files[`f${String(i).padStart(3, '0')}-sub`] = { type: 'dir', children: { inner: { type: 'file', content: `inner ${i}\n` } } }
  }
  buildTree(src, { type: 'dir', children: { many: { type: 'dir', children: files } } })
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const id = saveOk(savedir, 'w', [src]).id
  const root = summaryOf(savedir, id).root as string
  await withStore(savedir, async store => {
    const many = (await savedSubtree(store, root, path.join(src, 'many')))[0]?.entry.tree
    if (!many) throw new Error('many/ not saved')
    const o = await treeObjects(store, many)
    t.equal(o.kind, 2, 'many/ is a tree index')
    t.ok(o.parts.length >= 3, `of ${o.parts.length} parts`)
    // Count the parts asked for by the time the walk gives its first entry.
    const partNames = new Set(o.parts.map(b => b.toString('hex')))
    let partsRead = 0
    const getBatched = store.getBatched.bind(store)
    store.getBatched = (hex: string) => { if (partNames.has(hex)) partsRead++; return getBatched(hex) }
    let atFirst = -1
    const walked: string[] = []
    for await (const w of walkTree(store, many, Buffer.from('many'))) {
      if (atFirst < 0) atFirst = partsRead
      walked.push(`${w.path.toString('latin1')} ${w.entry.type} ${w.entry.size ?? ''} ${w.entry.data?.length ?? ''}`)
    }
    // The first part, and the next 2 MiB of parts (eight of 256 KiB) ahead.
    t.ok(atFirst >= 1 && atFirst <= 9 && atFirst < o.parts.length, `at the first entry, ${atFirst} of ${o.parts.length} parts read (the first, and at most eight ahead)`)
    t.equal(partsRead, o.parts.length, 'each part read once')
    const expected = await wholeWalk(store, many, Buffer.from('many'))
    t.equal(walked.length, 260 + 9 * 2, 'every entry once')
    t.same(walked, expected, 'in the order of the whole trees')
  })
  const r = await restoreToTar(['-r', savedir, id], ['--diff', '-f', '-', '-C', '/'])
  t.equal(r.tar.status, 0, `GNU tar finds no difference: ${r.tar.stderr}`)
  t.equal(r.restore.status, 0, r.restore.stderr)
})
