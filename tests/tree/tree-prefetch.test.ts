// Trees read ahead of a walk: the same entries as a plain read, at most `limit` trees read
// ahead below the first level, and forget() drops a subtree that will not be visited.
import t from 'tap'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, saveOk, summaryOf } from '../helpers/cli.js'
import { withStore } from '../helpers/saved-tree.js'
import { TreePrefetch } from '../../lib/tree/tree-prefetch.js'
import { readTree } from '../../lib/tree/tree-store.js'
import { lookup, savedComponents } from '../../lib/restore/saveset-walk.js'
import type { ObjectStore } from '../../lib/repo/object-store.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'

/** 6 directories of 6 directories of 2 files each. */
function spec(): FixtureNode {
  const leaf = (i: number): FixtureNode => ({ type: 'dir', children: { a: { type: 'file', content: `a${i}` }, b: { type: 'file', content: `b${i}` } } })
  const mid = (i: number): FixtureNode => ({ type: 'dir', children: Object.fromEntries(Array.from({ length: 6 }, (_, k) => [`m${k}`, leaf(i * 10 + k)])) })
  return { type: 'dir', children: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`d${i}`, mid(i)])) }
}

const aheadOf = (p: TreePrefetch): Map<string, unknown> => (p as unknown as { ahead: Map<string, unknown> }).ahead
const settle = (): Promise<void> => new Promise(r => setTimeout(r, 200))

/** spec() saved into a new savedir; `fn` gets a store on it and the entries of the saved src/. */
async function withSavedSpec(t: Parameters<typeof tmpDirFor>[0], prefix: string, fn: (store: ObjectStore, top: Entry[]) => Promise<void>): Promise<void> {
  const src = path.join(tmpDirFor(t, prefix), 'src')
  buildTree(src, spec())
  const savedir = newSavedir(t)
  const id = saveOk(savedir, 'p', [src]).id
  await withStore(savedir, async store => {
    const e = await lookup(store, Buffer.from(summaryOf(savedir, id).root as string, 'hex'), savedComponents(src))
    await fn(store, await readTree(store, e?.tree as Buffer))
  })
}

t.test('read, hint, limit, forget', async t => {
  await withSavedSpec(t, 'tarshift-prefetch-', async (store, top) => {

    const p = new TreePrefetch(store, 10)
    p.hint([top])
    await settle()
    const ahead = aheadOf(p)
    t.ok(ahead.size >= 6, 'the six subdirectories are read ahead')
    t.ok(ahead.size <= 6 + 10, `and at most the limit below them (${ahead.size})`)
    for (const e of top) {
      if (e.type !== EntryType.Dir) continue
      t.same(await p.read(e.tree as Buffer), await readTree(store, e.tree as Buffer), `${e.name}: the same entries as a plain read`)
    }
    const before = ahead.size
    const d5 = await readTree(store, (top[5] as Entry).tree as Buffer)
    for (const e of d5) p.forget(e.tree as Buffer)
    await settle()
    t.ok(aheadOf(p).size <= before, 'forget drops what was read ahead below')
    for (const e of d5) t.notOk(aheadOf(p).has((e.tree as Buffer).toString('hex')), `${e.name} forgotten`)
    p.clear()
    t.equal(aheadOf(p).size, 0)
  })
})

t.test('trees past the limit: only their files are asked for ahead (page cache), each once', async t => {
  await withSavedSpec(t, 'tarshift-prefetch-later-', async (store, top) => {
    const asked: string[] = []
    const original = store.prefetchObjects.bind(store)
    store.prefetchObjects = (hashes: readonly string[]): void => {
      asked.push(...hashes)
      original(hashes)
    }
    const p = new TreePrefetch(store, 10)
    p.hint([top])
    await settle()
    const second: string[] = []
    for (const e of top) for (const m of await readTree(store, e.tree as Buffer)) second.push((m.tree as Buffer).toString('hex'))
    t.equal(second.length, 36)
    const ahead = aheadOf(p)
    const readAhead = second.filter(h => ahead.has(h))
    t.ok(readAhead.length > 0 && readAhead.length <= 4, `some second-level trees read ahead (${readAhead.length})`)
    // (The trees read ahead are asked for too, with the batch that reads them.)
    const first = top.filter(e => e.type === EntryType.Dir).map(e => (e.tree as Buffer).toString('hex'))
    const times = (h: string): number => asked.filter(a => a === h).length
    t.same(second.filter(h => !ahead.has(h)).map(times), second.filter(h => !ahead.has(h)).map(() => 1), 'the others: their files asked for, each once')
    t.same(asked.filter(h => !first.includes(h) && !second.includes(h)), [], 'nothing deeper: their trees are not known yet')
  })
})

t.test('the bytes read ahead are bounded too', async t => {
  await withSavedSpec(t, 'tarshift-prefetch-bytes-', async (store, top) => {

    // Without a byte bound below the trees' size, the reads go a level deeper.
    const free = new TreePrefetch(store, 100)
    free.hint([top])
    await settle()
    t.ok(aheadOf(free).size > 6, `unbounded: below the first level too (${aheadOf(free).size})`)

    // One byte: the first level is asked for before any tree has arrived; past that, nothing.
    const p = new TreePrefetch(store, 100, 1)
    p.hint([top])
    await settle()
    t.equal(aheadOf(p).size, 6, 'only the six subdirectories are read ahead')
    t.ok(p.bytesAhead > 0, `their bytes are counted (${p.bytesAhead})`)
    p.hint([await readTree(store, (top[0] as Entry).tree as Buffer)])
    await settle()
    t.equal(aheadOf(p).size, 6, 'a later hint reads nothing while the bound is reached')
    for (const e of top) await p.open(e.tree as Buffer)
    t.equal(p.bytesAhead, 0, 'taking the trees gives their bytes back')
    t.equal(aheadOf(p).size, 0)
  })
})
