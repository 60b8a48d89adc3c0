// Looking names up in a stored tree a part at a time: the same answers as a search of the
// whole list, each part read once and in order, and no more than two parts read at a time.
import t from 'tap'
import { newSavedir } from '../helpers/cli.js'
import { withStore } from '../helpers/saved-tree.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'
import { writeTree } from '../../lib/tree/tree-writer.js'
import { findEntry, openTree, readTree, storeTreeReader } from '../../lib/tree/tree-store.js'
import { TreeCursor } from '../../lib/tree/tree-cursor.js'

function entry(i: number): Entry {
  return { name: Buffer.from(`f${String(i * 2).padStart(6, '0')}`), type: EntryType.File, mode: 0o600, uid: 0, gid: 0, size: 3, mtime: [i, 0], ctime: [i, 0], ino: i, data: Buffer.from('abc') }
}

t.test('lookups in name order across parts', async t => {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  await withStore(savedir, async store => {
    for (const n of [10, 12_000]) {
      const hash = await writeTree(store, Array.from({ length: n }, (_, i) => entry(i)))
      await store.flush()
      const whole = await readTree(store, hash)
      const opened = await openTree(store, hash)
      if (n > 10) t.ok(opened.parts.length > 3, `a tree index (${opened.parts.length} parts)`)
      // Step 1: each name, then one that is not there (the next entry, or one past the name
      // sought: one comparison); step 3: names skipped (a search).
      for (const step of [1, 3]) {
        const seen: number[] = []
        const passed: number[] = []
        const cursor = new TreeCursor(storeTreeReader(store), opened, p => seen.push(p.length), p => passed.push(p.length))
        let wrong = 0
        let found = 0
        // Every name in the list, and between them names that are not (odd numbers).
        for (let k = 0; k < 2 * n + 3; k += step) {
          const name = Buffer.from(`f${String(k).padStart(6, '0')}`)
          let e = cursor.lookup(name)
          while (e === null) {
            t.ok(seen.length - passed.length <= 1, 'one part in memory')
            await cursor.advance()
            e = cursor.lookup(name)
          }
          const want = findEntry(whole, name)
          if (e !== undefined) found++
          if (e?.name.toString() !== want?.name.toString() || (e && whole[cursor.foundAt] !== undefined && !whole[cursor.foundAt]?.name.equals(name))) wrong++
        }
        t.equal(wrong, 0, `${n}, step ${step}: the same answers as a search of the whole list`)
        t.ok(found >= n / 3, `${n}, step ${step}: and names were found (${found})`)
        t.equal(seen.length, Math.max(1, opened.parts.length), `${n}: each part read once`)
        t.equal(seen.reduce((a, b) => a + b, 0), n, `${n}: the parts hold every entry`)
        t.equal(await cursor.size(), n, `${n}: size`)
        cursor.close()
        t.equal(passed.length, seen.length, `${n}: every part passed once closed`)
      }
    }
  })
})

t.test('size before the end reads the remaining parts', async t => {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  await withStore(savedir, async store => {
    const hash = await writeTree(store, Array.from({ length: 12_000 }, (_, i) => entry(i)))
    await store.flush()
    const cursor = new TreeCursor(storeTreeReader(store), await openTree(store, hash))
    t.equal(cursor.lookup(entry(5).name)?.ino, 5)
    t.equal(cursor.foundAt, 5)
    t.equal(await cursor.size(), 12_000)
  })
})
