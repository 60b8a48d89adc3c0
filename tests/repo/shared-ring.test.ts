// Slots of the memory shared with the store workers: first fit from the lowest free range,
// given back in any order, merged with their free neighbours; null when a request fits nowhere.
import t from 'tap'
import { SharedRing } from '../../lib/repo/shared-ring.js'

t.test('slots one after another, views of the one shared buffer', async t => {
  const ring = new SharedRing(100)
  const a = ring.alloc(30) as Buffer
  const b = ring.alloc(30) as Buffer
  t.equal(a.byteOffset, 0)
  t.equal(b.byteOffset, 30)
  t.equal(a.buffer, ring.buffer, 'a view of the shared memory')
  t.ok(ring.owns(a) && !ring.owns(Buffer.alloc(30)))
  a.fill(1)
  b.fill(2)
  t.equal(Buffer.from(ring.buffer)[29], 1)
  t.equal(Buffer.from(ring.buffer)[30], 2, 'slots do not overlap')
  t.equal(ring.used, 60)
  t.equal(ring.alloc(0), null, 'no empty slots')
  t.equal(ring.alloc(101), null, 'nothing larger than the ring')
})

t.test('a slot given back is reused at once, whatever is still out before it', async t => {
  const ring = new SharedRing(100)
  const a = ring.alloc(40) as Buffer
  const b = ring.alloc(40) as Buffer
  t.equal(ring.alloc(30), null, '20 bytes free: too few')
  ring.free(b)
  const c = ring.alloc(30) as Buffer
  t.equal(c.byteOffset, 40, 'b back while a is out: its space serves c')
  ring.free(a)
  ring.free(c)
  t.equal(ring.used, 0, 'all back: empty')
  const d = ring.alloc(100) as Buffer
  t.equal(d.byteOffset, 0, 'the free ranges merged into one: the whole ring fits')
  ring.free(d)
})

t.test('first fit: the lowest free range that holds the request', async t => {
  const ring = new SharedRing(100)
  const s = [10, 20, 10, 30, 30].map(n => ring.alloc(n) as Buffer)
  t.same(s.map(b => b.byteOffset), [0, 10, 30, 40, 70])
  ring.free(s[1] as Buffer) // [10, 30) free
  ring.free(s[3] as Buffer) // [40, 70) free
  t.equal(ring.alloc(25)?.byteOffset, 40, 'too large for [10, 30): the next range')
  t.equal(ring.alloc(15)?.byteOffset, 10, 'fits in [10, 30): taken from its start')
  t.equal(ring.alloc(6), null, '5 + 5 bytes free in two ranges: 6 fits in neither')
  const e = ring.alloc(5) as Buffer
  t.equal(e.byteOffset, 25)
  ring.free(s[2] as Buffer) // [30, 40) free, between [25, 30) taken and [40, 65) taken
  t.equal(ring.alloc(10)?.byteOffset, 30, 'a range freed between two slots')
})

t.test('freed neighbours merge on both sides', async t => {
  const ring = new SharedRing(90)
  const [a, b, c] = [30, 30, 30].map(n => ring.alloc(n) as Buffer)
  ring.free(a as Buffer)
  ring.free(c as Buffer)
  t.equal(ring.alloc(60), null, 'two ranges of 30, not one of 60')
  ring.free(b as Buffer)
  t.equal(ring.alloc(90)?.byteOffset, 0, 'b joined them into one')
})

t.test('freeing a slot twice, a view of another size, or a foreign buffer, is an internal error', async t => {
  const ring = new SharedRing(64)
  const a = ring.alloc(8) as Buffer
  ring.free(a)
  t.throws(() => ring.free(a), /not taken/)
  const b = ring.alloc(8) as Buffer
  t.throws(() => ring.free(b.subarray(0, 4)), /not taken/)
  t.throws(() => ring.free(Buffer.from(new SharedArrayBuffer(64), 0, 8)), /not taken/)
  ring.free(b)
  t.equal(ring.used, 0)
})

t.test('many slots given back out of order: never overlapping, all reclaimed', async t => {
  const ring = new SharedRing(1 << 16)
  const live: Buffer[] = []
  let seed = 7
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  let handed = 0
  let refused = 0
  let tag = 0
  const tags = new Map<Buffer, number>()
  let overwritten = 0
  let refusedEmpty = 0
  let wrongUsed = 0
  for (let i = 0; i < 20000; i++) {
    if (live.length > 0 && rand(3) === 0) {
      const k = rand(live.length)
      const [b] = live.splice(k, 1) as [Buffer]
      // Its bytes are still its own: nothing handed out meanwhile overlapped it.
      const own = tags.get(b) as number
      if (!b.every(x => x === own)) overwritten++
      ring.free(b)
      continue
    }
    const b = ring.alloc(1 + rand(4000))
    if (b === null) {
      refused++
      if (live.length === 0) refusedEmpty++
      continue
    }
    handed++
    tag = (tag + 1) & 0xff
    tags.set(b, tag)
    b.fill(tag)
    live.push(b)
    if (ring.used !== live.reduce((a, x) => a + x.length, 0)) wrongUsed++
  }
  t.equal(overwritten, 0, 'no slot was overwritten by one handed out later')
  t.equal(refusedEmpty, 0, 'never refused with nothing handed out')
  t.equal(wrongUsed, 0, 'used is always the sum of the live slots')
  for (const b of live) ring.free(b)
  t.ok(handed > 5000 && refused > 0, `${handed} handed out, ${refused} refused`)
  t.equal(ring.used, 0, 'everything reclaimed')
  t.equal(ring.alloc(1 << 16)?.byteOffset, 0, 'and merged back into one range')
})
