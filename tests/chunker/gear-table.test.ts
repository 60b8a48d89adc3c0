import t from 'tap'
import { gearTable } from '../../lib/chunker/gear-table.js'
import { DEFAULT_CHUNKER } from '../../lib/chunker/fastcdc.js'

const hex = (v: number) => '0x' + v.toString(16).padStart(8, '0')

// GOLDEN VALUES. The gear table is part of the on-disk format (DESIGN.md §2): these values
// must never drift. A change here changes every cut point and breaks deduplication against
// every existing savedir; it is a format change and must be made as one (new seed scheme,
// new format version), never by editing these numbers. They were also reproduced by an
// independent Python implementation of the algorithm documented in gear-table.ts.
t.test('default seed: pinned gear values', async t => {
  t.equal(DEFAULT_CHUNKER.seed, 0x74617273)
  const g = gearTable(DEFAULT_CHUNKER.seed)
  t.equal(g.length, 256)
  t.same([...g.subarray(0, 8)].map(hex), [
    '0x19852457', '0x3000caec', '0xf4481fc4', '0xe68aea1b', '0x8b613cac', '0x837b3ca2', '0x14511e4f', '0xd70ed3cc',
  ])
  t.equal(hex(g[255] as number), '0x08669708')
  t.same([...gearTable(0).subarray(0, 2)].map(hex), ['0x64625032', '0xd9c0799c'])
})

t.test('deterministic, seed-dependent, well spread', async t => {
  t.same(gearTable(12345), gearTable(12345))
  t.notSame(gearTable(12345), gearTable(12346))
  t.same(gearTable(0xffffffff).length, 256)
  const g = gearTable(DEFAULT_CHUNKER.seed)
  t.equal(new Set(g).size, 256, 'no repeated value')
  // Each bit is set in roughly half the entries.
  for (let bit = 0; bit < 32; bit++) {
    let ones = 0
    for (const v of g) ones += (v >>> bit) & 1
    t.ok(ones > 96 && ones < 160, `bit ${bit} set in ${ones}/256`)
  }
})

t.test('bad seeds throw', async t => {
  for (const seed of [-1, 2 ** 32, 1.5, NaN]) t.throws(() => gearTable(seed), RangeError, `seed ${seed}`)
})
