// Header memory carved out of shared slabs: every piece zero-filled when given, none
// overlapping another (a header written into one must not change another still queued).
import t from 'tap'
import { zeroed } from '../../lib/restore/header-slab.js'

t.test('pieces are zero, disjoint, and survive later pieces', async t => {
  const got: Buffer[] = []
  // Enough for several slabs, sizes of one, two and three blocks and odd ones.
  for (let i = 0; i < 6000; i++) {
    const b = zeroed(i % 3 === 0 ? 512 : i % 3 === 1 ? 1024 + (i % 7) : 1536)
    if (!b.every(x => x === 0)) t.fail(`piece ${i} was not zero-filled`)
    b.fill(i & 255)
    got.push(b)
  }
  t.ok(got.every((b, i) => b.every(x => x === (i & 255))), 'each piece still holds what was written into it')
  const big = zeroed(600 * 1024)
  t.equal(big.length, 600 * 1024)
  t.ok(big.every(x => x === 0), 'a piece larger than a quarter slab is its own buffer, zeroed')
})
