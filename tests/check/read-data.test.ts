// --read-data: the random subset of chunks that --read-data-subset reads back, and how a corrupt one is described.
import t from 'tap'
import { pickSubset, readData, type ExpectedLength } from '../../lib/check/read-data.js'
import { newSavedir } from '../helpers/cli.js'
import { withStore } from '../helpers/saved-tree.js'
import { ObjectKind } from '../../lib/codec/object-header.js'

/** A small deterministic generator (mulberry32) for reproducible picks. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const items = Array.from({ length: 100 }, (_, i) => `c${String(i).padStart(3, '0')}`)

t.test('how many: ceil(n × P / 100), all at 100%', async t => {
  const cases: Array<[number, number, number]> = [
    // [n, percent, expected count]
    [100, 100, 100],
    [100, 10, 10],
    [100, 7, 7],
    [100, 0.5, 1],
    [10, 33.3, 4],
    [3, 1, 1],
    [0, 50, 0],
    [1, 0.001, 1],
  ]
  for (const [n, p, want] of cases) t.equal(pickSubset(items.slice(0, n), p, seeded(1)).length, want, `${p}% of ${n}`)
})

t.test('distinct items, in their original order, varying with the random source', async t => {
  const a = pickSubset(items, 20, seeded(1))
  t.equal(new Set(a).size, 20, 'no repeats')
  t.same(a, [...a].sort(), 'original order')
  t.ok(a.every(x => items.includes(x)))
  t.same(pickSubset(items, 20, seeded(1)), a, 'same random source, same pick')
  t.notSame(pickSubset(items, 20, seeded(2)), a, 'another random source, another pick')
  t.same(pickSubset(items, 100, () => 0.999), items, '100% is everything, in order')
})

t.test('every item can be picked', async t => {
  const seen = new Set<string>()
  const rnd = seeded(7)
  for (let i = 0; i < 200; i++) for (const x of pickSubset(items, 5, rnd)) seen.add(x)
  t.equal(seen.size, items.length)
})

t.test('a percentage outside (0, 100] is refused', async t => {
  for (const p of [0, -1, 100.5, NaN]) t.throws(() => pickSubset(items, p), RangeError, String(p))
})

t.test('the reason of a corrupt object, as the object store reports it', async t => {
  const { CorruptObjectError } = await import('../../lib/errors.js')
  const { corruptWhy } = await import('../../lib/check/describe.js')
  const h = 'ab'.repeat(32)
  t.equal(corruptWhy(new CorruptObjectError(h, `/sd/chunks/aba/${h}.data`, `content hash is ${'cd'.repeat(32)}`)), `its content hashes to ${'cd'.repeat(32)}, not to its name`)
  t.equal(corruptWhy(new CorruptObjectError(h, `/sd/chunks/aba/${h}.data`, 'bad magic')), 'bad magic')
})

t.test('lengths: a whole chunk must be exactly as long as its entries say, a sliced object at least to the end of every slice', async t => {
  const savedir = newSavedir(t)
  await withStore(savedir, async store => {
    const h = (await store.put(Buffer.alloc(100, 1), ObjectKind.Data)).hash
    await store.flush()
    const run = (want: ExpectedLength) => readData(store, [h], 'chunk', () => want)
    t.same((await run({ exact: 100, atLeast: 0 })).lengths, [], 'exact: good')
    t.same((await run({ exact: 99, atLeast: 0 })).lengths, [{ hash: h, got: 100, want: 99, slice: false }], 'exact: wrong')
    t.same((await run({ exact: undefined, atLeast: 100 })).lengths, [], 'sliced to its very end: good')
    t.same((await run({ exact: undefined, atLeast: 101 })).lengths, [{ hash: h, got: 100, want: 101, slice: true }], 'a slice past its end')
    t.same((await run({ exact: 100, atLeast: 101 })).lengths, [{ hash: h, got: 100, want: 101, slice: true }], 'both uses: the slice past the end is found')
  })
})
