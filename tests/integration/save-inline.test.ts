// Small files live inline (DESIGN.md §2): 10,000 files of 1-4 KiB in 100 directories become
// about 100 objects (one tree per directory), not 10,000; and the saveset restores through
// tar exactly as the source was.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { seededBytes, setTimesNs, tmpDirFor } from '../helpers/fixture-tree.js'
import { snapshotTree } from '../helpers/tree-snapshot.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { added, newSavedir, objectNames, saveOk, showRun, summaryOf, tarshift } from '../helpers/cli.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'
import { EntryType } from '../../lib/tree/entry.js'

const DIRS = 100
const PER_DIR = 100
const NS = 1_000_000_000n

t.test('10,000 small files in 100 directories: about 100 objects, restored exactly', async t => {
  const base = tmpDirFor(t, 'tarshift-inline-')
  const src = path.join(base, 'src')
  fs.mkdirSync(src)
  // One keystream cut into pieces: deterministic, incompressible, each file different.
  const sizes: number[] = []
  for (let i = 0; i < DIRS * PER_DIR; i++) sizes.push(1024 + ((i * 2654435761) % 3073)) // 1024..4096
  const stream = seededBytes(sizes.reduce((a, b) => a + b, 0), 77)
  const times: Array<[string, bigint]> = []
  let off = 0
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(src, `d${String(d).padStart(3, '0')}`)
    fs.mkdirSync(dir)
    for (let f = 0; f < PER_DIR; f++) {
      const i = d * PER_DIR + f
      const size = sizes[i] as number
      const file = path.join(dir, `f${String(f).padStart(3, '0')}.bin`)
      fs.writeFileSync(file, stream.subarray(off, off + size), { mode: f % 7 === 0 ? 0o600 : 0o644 })
      off += size
      // Whole seconds: setTimesNs applies those with one utimes call (fractions spawn touch).
      times.push([file, (1_500_000_000n + BigInt(i)) * NS])
    }
    times.push([dir, (1_500_100_000n + BigInt(d)) * NS])
  }
  times.push([src, 1_500_200_000n * NS])
  setTimesNs(times)
  const total = sizes.reduce((a, b) => a + b, 0)

  const savedir = newSavedir(t)
  const before = objectNames(savedir)
  const s = saveOk(savedir, 'inline', [src])
  const objs = added(before, objectNames(savedir))
  t.equal(s.files, DIRS * PER_DIR, '10,000 files saved')
  t.equal(s.bytesTotal, total, `${total} bytes`)
  // One tree per directory (100 + src), plus the ancestors of src: /tmp, the temp dir, root.
  const ancestors = src.split('/').filter(Boolean).length // tmp, tarshift-inline-XXX, src (src's tree counts here)
  t.ok(objs.size >= DIRS + ancestors, `${objs.size} objects added (at least ${DIRS + ancestors})`)
  t.ok(objs.size <= DIRS + 10, `${objs.size} objects added: about one per directory, not one per file`)
  t.equal(s.objectsNew, objs.size, 'the save reports what it added')

  const summary = summaryOf(savedir, s.id)
  await withStore(savedir, async store => {
    const items = await savedSubtree(store, summary.root as string, src)
    const files = items.filter(i => i.entry.type === EntryType.File)
    t.equal(files.length, DIRS * PER_DIR)
    t.ok(files.every(i => i.entry.data && i.entry.data.length === i.entry.size && !i.entry.chunks), 'every file is inline')
  })

  const r = tarshift(['restore', '-r', savedir, s.id, src])
  t.equal(r.status, 0, `restore: ${showRun(r)}`)
  const out = path.join(base, 'out')
  fs.mkdirSync(out)
  const x = spawnSync('tar', ['-xpf', '-', '-C', out], { input: r.stdout })
  t.equal(x.status, 0, `tar -x: ${x.stderr.toString()}`)
  assertSameTree(t, snapshotTree(src), snapshotTree(path.join(out, src)), { labels: ['source', 'restored'] }, 'restored exactly')
})
