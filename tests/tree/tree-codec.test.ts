import t from 'tap'
import { createHash } from 'node:crypto'
import { decodeTree, decodeTreeIndex, encodeTree, encodeTreeIndex } from '../../lib/tree/tree-codec.js'
import { EntryType, timespecFromNs, timespecToNs, type Entry } from '../../lib/tree/entry.js'

const known: Entry[] = [
  { name: Buffer.from('a.txt'), type: EntryType.File, mode: 0o644, uid: 1000, gid: 1000, uname: 'ann', gname: 'ann', size: 5,
    mtime: [1700000000, 123456789], ctime: [1700000001, 5], ino: 42, data: Buffer.from('hello') },
  { name: Buffer.from([0x62, 0xff]), type: EntryType.File, mode: 0o4755, uid: 0, gid: 0, size: 3 * 1024 * 1024,
    mtime: [-123456789, 500000000], ctime: [0, 0], ino: '18446744073709551615', link: Buffer.from('/x/b\xff', 'latin1'),
    chunks: [{ hash: Buffer.alloc(32, 1), length: 2 * 1024 * 1024 }, { hash: Buffer.alloc(32, 2), length: 1024 * 1024 }],
    xattrs: [[Buffer.from('user.bin'), Buffer.from([0, 255, 10, 61])]], racy: true },
  { name: Buffer.from('dev'), type: EntryType.CharDev, mode: 0o600, uid: 0, gid: 0, size: 0, mtime: [4102444800, 123456789],
    ctime: [1, 2], ino: 7, rdev: [300, 70000] },
  { name: Buffer.from('link'), type: EntryType.Symlink, mode: 0o777, uid: 0, gid: 0, size: 0, mtime: [1, 0], ctime: [1, 0], ino: 8,
    target: Buffer.from('../a.txt') },
  { name: Buffer.from('sub'), type: EntryType.Dir, mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: [1, 0], ctime: [1, 0], ino: 9,
    tree: Buffer.alloc(32, 3), atime: [5, 6] },
]

t.test('entries round-trip exactly', async t => {
  t.same(decodeTree(encodeTree(known)), known)
  t.same(decodeTree(encodeTree([])), [])
})

t.test('golden: the encoding of a known directory never drifts (a change is a format change)', async t => {
  const bytes = encodeTree(known)
  t.equal(bytes.length, 469)
  t.equal(createHash('sha256').update(bytes).digest('hex'), GOLDEN)
})

t.test('the encoding is deterministic and ignores key insertion order of the input object', async t => {
  const shuffled = known.map(e => Object.fromEntries(Object.entries(e).reverse()) as unknown as Entry)
  t.ok(encodeTree(shuffled).equals(encodeTree(known)))
})

t.test('undecodable trees are rejected with a reason', async t => {
  t.throws(() => decodeTree(Buffer.from([0xc1])), /undecodable tree/)
  t.throws(() => decodeTree(encodeTreeIndex([Buffer.alloc(32)])), /not a version 1 tree/)
  const bad = encodeTree([{ ...known[0] as Entry, type: 9 as EntryType }])
  t.throws(() => decodeTree(bad), /unknown entry type 9/)
})

t.test('tree index round-trip', async t => {
  const parts = [Buffer.alloc(32, 7), Buffer.alloc(32, 8)]
  t.same(decodeTreeIndex(encodeTreeIndex(parts)), parts)
})

t.test('timespecs: nanoseconds before 1970 and after 2038', async t => {
  for (const ns of [0n, 1n, -1n, -123456789_500000000n, 4102444800_123456789n, -1_000_000_000n]) {
    const ts = timespecFromNs(ns)
    t.ok(ts[1] >= 0 && ts[1] < 1e9, `nsec in range for ${ns}`)
    t.equal(timespecToNs(ts), ns)
  }
  t.same(timespecFromNs(-1n), [-1, 999999999])
})

const GOLDEN = 'e2053cd5ac93977c281f5591aed317f0859ed19fde1877f69e119a98c2c9bcdb'
