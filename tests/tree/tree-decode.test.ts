// The fast tree reader (lib/tree/tree-decode.ts) must give exactly what msgpackr's generic
// decoding gives, property order included, or give up (null) and leave it to the generic way.
import t from 'tap'
import { Packr } from 'msgpackr'
import { randomBytes } from 'node:crypto'
import { decodeTreeFast } from '../../lib/tree/tree-decode.js'
import { decodeTree, decodeTreeGeneric, encodeTree } from '../../lib/tree/tree-codec.js'
import { EntryType, type ChunkRef, type Entry } from '../../lib/tree/entry.js'

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })

/** Numbers of every width msgpackr writes. */
const NUMBERS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 45)]
let seed = 1
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
}
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)] as T
const bytes = (n: number): Buffer => randomBytes(n)

function randomEntry(i: number): Entry {
  const type = pick([EntryType.File, EntryType.Dir, EntryType.Symlink, EntryType.CharDev, EntryType.BlockDev, EntryType.Fifo])
  const e: Entry = {
    name: Buffer.concat([Buffer.from(String(i).padStart(6, '0')), bytes(rnd(300))]),
    type, mode: rnd(0o10000), uid: pick(NUMBERS.filter(n => n >= 0)), gid: pick(NUMBERS.filter(n => n >= 0)),
    size: pick(NUMBERS.filter(n => n >= 0)), mtime: [pick(NUMBERS), rnd(1e9)], ctime: [pick(NUMBERS), rnd(1e9)],
    ino: rnd(4) === 0 ? '18446744073709551615' : pick(NUMBERS.filter(n => n >= 0)),
  }
  if (rnd(2)) e.uname = pick(['root', 'ann', 'x'.repeat(40), 'y'.repeat(300), ''])
  if (rnd(2)) e.gname = pick(['wheel', 'staff'])
  if (rnd(4) === 0) e.atime = [pick(NUMBERS), rnd(1e9)]
  if (rnd(4) === 0) e.rdev = [rnd(4096), pick(NUMBERS.filter(n => n >= 0))]
  if (rnd(4) === 0) e.target = bytes(pick([0, 5, 300, 70000]))
  if (rnd(3) === 0) e.xattrs = Array.from({ length: 1 + rnd(3) }, (_, k) => [Buffer.from(`user.k${k}`), bytes(pick([0, 3, 256, 70000]))] as [Buffer, Buffer])
  if (rnd(4) === 0) e.link = bytes(20)
  if (rnd(3) === 0) e.data = bytes(pick([0, 1, 31, 32, 255, 256, 65535, 65536, 100000]))
  else if (rnd(2)) {
    e.chunks = Array.from({ length: rnd(4) }, () => {
      const c: ChunkRef = { hash: bytes(32), length: pick(NUMBERS.filter(n => n >= 0)) }
      // Slices: a range of an object's bytes (doc/format.md §5.6).
      if (rnd(2)) c.offset = pick(NUMBERS.filter(n => n >= 0))
      return c
    })
  }
  if (rnd(3) === 0) e.tree = bytes(32)
  if (rnd(4) === 0) e.racy = true
  return e
}

t.test('random trees: the fast reader takes them, and gives what the generic decoding gives', async t => {
  for (const n of [0, 1, 15, 16, 17, 300, 70000]) {
    const entries = Array.from({ length: n }, (_, i) => randomEntry(i))
    const bytes = encodeTree(entries)
    const fast = decodeTreeFast(bytes)
    if (!t.ok(fast, `${n} entries: taken by the fast reader`) || fast === null) continue
    const generic = decodeTreeGeneric(bytes)
    t.same(fast, generic, `${n} entries: the same entries`)
    t.same(fast, entries, `${n} entries: as encoded`)
    t.ok(fast.every((e, i) => Object.keys(e).join() === Object.keys(generic[i] as Entry).join()), `${n} entries: properties in the same order`)
  }
})

t.test('encodings the fast reader does not take go to the generic decoding, which decides', async t => {
  const base = { n: Buffer.from('a'), t: 0, m: 0o644, u: 0, g: 0, s: 1, mt: [1, 2], ct: [3, 4], i: 5 }
  const cases: Array<[string, unknown, boolean]> = [
    // [what, the tree's wire form, whether the generic decoding accepts it]
    ['a non-ASCII user name', { v: 1, e: [{ ...base, un: 'zoë' }] }, true],
    ['keys in another order', { e: [base], v: 1 }, true],
    ['a missing size', { v: 1, e: [{ ...base, s: undefined }] }, false],
    ['a type out of range', { v: 1, e: [{ ...base, t: 9 }] }, false],
    ['a time of three numbers', { v: 1, e: [{ ...base, mt: [1, 2, 3] }] }, false],
    ['a name that is a string', { v: 1, e: [{ ...base, n: 'a' }] }, false],
    ['an entry that is not a map', { v: 1, e: [5] }, false],
    ['version 2', { v: 2, e: [base] }, false],
  ]
  for (const [what, wire, ok] of cases) {
    const b = packr.pack(wire)
    t.equal(decodeTreeFast(b), null, `${what}: not taken by the fast reader`)
    if (ok) t.same(decodeTree(b), decodeTreeGeneric(b), `${what}: decoded the generic way`)
    else t.throws(() => decodeTree(b), /undecodable tree/, `${what}: rejected the generic way`)
  }
  const good = encodeTree([{ name: Buffer.from('a'), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, size: 1, mtime: [1, 2], ctime: [3, 4], ino: 5 }])
  t.equal(decodeTreeFast(Buffer.concat([good, Buffer.from([0])])), null, 'trailing bytes: not taken')
  t.equal(decodeTreeFast(good.subarray(0, good.length - 1)), null, 'cut short: not taken')
})

t.test('keys the fast reader does not know are skipped, whatever their values; later keys win', async t => {
  const base = { n: Buffer.from('a'), t: 0, m: 0o644, u: 0, g: 0, s: 1, mt: [1, 2], ct: [3, 4], i: 5 }
  const wire = { v: 1, e: [{ ...base, zz: { deep: [1, 'two', Buffer.from('3'), null, true, false, { x: -70000 }] }, q: 2 ** 40, un: 'ann' }] }
  const b = packr.pack(wire)
  const fast = decodeTreeFast(b)
  t.ok(fast, 'taken')
  t.same(fast, decodeTreeGeneric(b))
  // A key written twice (not by tarshift): the last one counts, as in the generic decoding.
  const twice = Buffer.concat([Buffer.from([0x82, 0xa1, 0x76, 0x01, 0xa1, 0x65, 0x91, 0x8b]),
    ...Object.entries(base).map(([k, v]) => Buffer.concat([packr.pack(k), packr.pack(v)])),
    packr.pack('un'), packr.pack('ann'), packr.pack('un'), packr.pack(null)])
  t.same(decodeTreeFast(twice), decodeTreeGeneric(twice), 'uname then nil: no uname')
  t.notOk((decodeTreeFast(twice) as Entry[])[0]?.uname)
})
