// Slots of the ring shared with the store workers: handed out in order, given back in any
// order, reused once every earlier slot is back; null when a request does not fit.
import t from 'tap'
import { SharedRing } from '../../lib/repo/shared-ring.js'

t.test('slots in order, views of the one shared buffer', async t => {
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

t.test('space is reused only once every earlier slot is back', async t => {
  const ring = new SharedRing(100)
  const a = ring.alloc(40) as Buffer
  const b = ring.alloc(40) as Buffer
  t.equal(ring.alloc(30), null, 'no room after b, none before a')
  ring.free(b)
  t.equal(ring.alloc(30), null, 'b back while a is out: its space still waits for a')
  ring.free(a)
  t.equal(ring.used, 0, 'all back: empty')
  const c = ring.alloc(100) as Buffer
  t.equal(c.byteOffset, 0, 'an empty ring starts again at 0')
  ring.free(c)
})

t.test('wraps around: the space before the oldest slot', async t => {
  const ring = new SharedRing(100)
  const a = ring.alloc(40) as Buffer
  const b = ring.alloc(40) as Buffer
  ring.free(a)
  const c = ring.alloc(30) as Buffer
  t.equal(c.byteOffset, 0, 'does not fit after b (20 left): starts again at 0')
  const d = ring.alloc(10) as Buffer
  t.equal(d.byteOffset, 30, 'then on after it, up to b')
  t.equal(ring.alloc(1), null, 'full: [0, 40) wrapped, [40, 80) b')
  ring.free(b)
  const e = ring.alloc(60) as Buffer
  t.equal(e.byteOffset, 40, 'b back: the rest of the ring after the newest slot')
  t.equal(ring.used, 100)
  ring.free(d)
  ring.free(c)
  ring.free(e)
  t.equal(ring.used, 0)
})

t.test('freeing a slot twice, or a foreign buffer, is an internal error', async t => {
  const ring = new SharedRing(64)
  const a = ring.alloc(8) as Buffer
  ring.free(a)
  t.throws(() => ring.free(a), /not taken/)
  t.throws(() => ring.free(Buffer.from(new SharedArrayBuffer(64), 0, 8)), /not taken/)
})

t.test('many slots given back out of order: never overlapping, all reclaimed', async t => {
  const ring = new SharedRing(1 << 16)
  const live: Buffer[] = []
  let seed = 7
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  let handed = 0
  let refused = 0
  for (let i = 0; i < 20000; i++) {
    if (live.length > 0 && rand(3) === 0) {
      const k = rand(live.length)
      const [b] = live.splice(k, 1)
      // Its bytes are still its own: nothing handed out meanwhile overlapped it.
      t.ok((b as Buffer).every(x => x === ((b as Buffer).byteOffset & 0xff)) || t.fail('a slot was overwritten'))
      ring.free(b as Buffer)
      continue
    }
    const b = ring.alloc(1 + rand(4000))
    if (b === null) { refused++; continue }
    handed++
    b.fill(b.byteOffset & 0xff)
    live.push(b)
  }
  for (const b of live) ring.free(b)
  t.ok(handed > 5000 && refused > 0, `${handed} handed out, ${refused} refused`)
  t.equal(ring.used, 0, 'everything reclaimed')
})
