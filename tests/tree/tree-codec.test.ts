import t from 'tap'
import { createHash } from 'node:crypto'
import { decodeTree, decodeTreeIndex, encodeEntry, encodeTree, encodeTreeIndex, encodeTreeIndexTransient, encodeTreeTransient, entryLengthBound, sameEntries, sameEntry, treeFromEncodedEntries, treeFromEncodedEntriesTransient, treeHeaderLength } from '../../lib/tree/tree-codec.js'
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

t.test('sizes without encoding: header plus entry lengths is exact, entryLengthBound never too small', async t => {
  // Entries with every field at its widest: 64-bit numbers, long names, many chunks, xattrs.
  const wide = (i: number): Entry => ({
    name: Buffer.alloc(200 + i, 0xff), type: EntryType.File, mode: 0o7777, uid: 4294967295, gid: 4294967295,
    uname: 'ü'.repeat(40), gname: '名'.repeat(30), size: Number.MAX_SAFE_INTEGER, mtime: [-9007199254740991, 999999999],
    ctime: [9007199254740991, 999999999], atime: [9007199254740991, 999999999], ino: '18446744073709551615',
    rdev: [4294967295, 4294967295], target: Buffer.alloc(4000, 1), link: Buffer.alloc(300, 2), data: Buffer.alloc(70000 + i, 3),
    xattrs: [[Buffer.from('user.a'), Buffer.alloc(70000, 4)], [Buffer.alloc(255, 0x61), Buffer.alloc(0)]],
    chunks: Array.from({ length: 40 }, (_, k) => ({ hash: Buffer.alloc(32, k), length: 4294967296 + k })), tree: Buffer.alloc(32, 5), racy: true,
  })
  for (const entries of [[], known, known.slice(0, 1), Array.from({ length: 15 }, (_, i) => known[i % known.length] as Entry),
    Array.from({ length: 16 }, (_, i) => known[i % known.length] as Entry), Array.from({ length: 70000 }, (_, i) => known[i % known.length] as Entry),
    Array.from({ length: 20 }, (_, i) => wide(i))]) {
    const lengths = entries.map(e => encodeEntry(e).length)
    t.equal(treeHeaderLength(entries.length) + lengths.reduce((a, b) => a + b, 0), encodeTree(entries).length, `exact for ${entries.length} entries`)
    t.ok(entries.every((e, i) => entryLengthBound(e) >= (lengths[i] as number)), `bound holds for ${entries.length} entries`)
  }
})

t.test('a tree larger than a megabyte round-trips, and so does a small one after it', async t => {
  const big = Array.from({ length: 3000 }, (_, i) => ({ ...(known[0] as Entry), name: Buffer.from(`f${String(i).padStart(5, '0')}`), data: Buffer.alloc(1000, i & 255) }))
  const bytes = encodeTree(big)
  t.ok(bytes.length > 1024 * 1024)
  const copy = Buffer.from(bytes)
  t.same(decodeTree(bytes), big)
  t.ok(encodeTree(known).equals(encodeTree(known)))
  t.ok(bytes.equals(copy), 'a later encoding does not write over an earlier large result')
  t.same(decodeTree(encodeTree(known)), known)
})

t.test('sameEntry: equal exactly when the encodings are equal (tree reuse depends on it)', async t => {
  const decoded = decodeTree(encodeTree(known))
  t.ok(sameEntries(known, decoded), 'a decoded copy is the same')
  // Every change of any field, in any entry, must be seen.
  const changes: Array<[string, (e: Entry) => void]> = [
    ['name', e => { e.name = Buffer.concat([e.name, Buffer.from('x')]) }],
    ['mode', e => { e.mode ^= 0o4000 }], ['uid', e => { e.uid += 1 }], ['gid', e => { e.gid += 1 }],
    ['uname', e => { e.uname = `${e.uname ?? ''}x` }], ['gname', e => { e.gname = undefined }],
    ['size', e => { e.size += 1 }], ['mtime ns', e => { e.mtime = [e.mtime[0], e.mtime[1] + 1] }],
    ['ctime s', e => { e.ctime = [e.ctime[0] + 1, e.ctime[1]] }], ['atime', e => { e.atime = [1, 1] }],
    ['ino', e => { e.ino = typeof e.ino === 'number' ? e.ino + 1 : `${e.ino}1` }],
    ['rdev', e => { e.rdev = [1, 2] }], ['target', e => { e.target = Buffer.from('elsewhere') }],
    ['xattr value', e => { e.xattrs = [[Buffer.from('user.bin'), Buffer.from([0, 255, 10, 62])]] }],
    ['link', e => { e.link = Buffer.from('/other') }], ['data byte', e => { e.data = Buffer.from('hellp') }],
    ['chunk hash', e => { e.chunks = [{ hash: Buffer.alloc(32, 9), length: 1 }] }], ['tree', e => { e.tree = Buffer.alloc(32, 4) }],
    ['racy', e => { e.racy = !e.racy }],
    // Present or absent as the encoding has it: empty but present is not absent, and the reverse.
    ['type', e => { e.type = e.type === EntryType.File ? EntryType.Fifo : EntryType.File }],
    ['mtime s', e => { e.mtime = [e.mtime[0] - 1, e.mtime[1]] }], ['ctime ns', e => { e.ctime = [e.ctime[0], e.ctime[1] + 1] }],
    ['no atime', e => { delete e.atime }], ['atime ns', e => { if (e.atime) e.atime = [e.atime[0], e.atime[1] + 1] }],
    ['ino as a string', e => { e.ino = String(e.ino) }], ['no uname', e => { delete e.uname }], ['empty uname', e => { e.uname = '' }],
    ['rdev minor', e => { if (e.rdev) e.rdev = [e.rdev[0], e.rdev[1] + 1] }], ['no rdev', e => { delete e.rdev }],
    ['empty target', e => { e.target = Buffer.alloc(0) }], ['no target', e => { delete e.target }],
    ['empty xattr list', e => { e.xattrs = [] }], ['no xattrs', e => { delete e.xattrs }],
    ['xattr name', e => { e.xattrs = [[Buffer.from('user.bim'), Buffer.from([0, 255, 10, 61])]] }],
    ['one xattr more', e => { e.xattrs = [...(e.xattrs ?? []), [Buffer.from('user.z'), Buffer.alloc(0)]] }],
    ['empty data', e => { e.data = Buffer.alloc(0) }], ['no data', e => { delete e.data }],
    ['empty chunk list', e => { e.chunks = [] }], ['no chunks', e => { delete e.chunks }],
    ['chunk length', e => { if (e.chunks?.[0]) e.chunks = [{ ...e.chunks[0], length: e.chunks[0].length + 1 }, ...e.chunks.slice(1)] }],
    ['one chunk less', e => { if (e.chunks) e.chunks = e.chunks.slice(1) }],
    ['a slice', e => { if (e.chunks?.[0]) e.chunks = [{ ...e.chunks[0], offset: 0 }, ...e.chunks.slice(1)] }],
    ['slice offset', e => { e.chunks = [{ hash: Buffer.alloc(32, 9), length: 1, offset: 7 }] }],
    ['racy false', e => { e.racy = false }], ['no racy', e => { delete e.racy }],
    ['no link', e => { delete e.link }], ['no tree', e => { delete e.tree }], ['name prefix', e => { e.name = e.name.subarray(0, 1) }],
  ]
  for (let i = 0; i < known.length; i++) {
    for (const [what, change] of changes) {
      const copy = decodeTree(encodeTree(known))
      const e = copy[i] as Entry
      change(e)
      const differs = !Buffer.from(encodeEntry(e)).equals(encodeEntry(known[i] as Entry)) // transient: copy the first
      t.equal(sameEntry(e, known[i] as Entry), !differs, `entry ${i}, ${what}: sameEntry agrees with the encoding`)
      t.equal(sameEntries(copy, known), !differs)
    }
  }
})

t.test('transient encodings: the same bytes as the lasting ones, and never written over a lasting one', async t => {
  const lists: Entry[][] = [[], known, Array.from({ length: 16 }, (_, i) => ({ ...(known[i % known.length] as Entry), name: Buffer.from(`n${String(i).padStart(3, '0')}`) })),
    Array.from({ length: 300 }, (_, i) => ({ ...(known[0] as Entry), name: Buffer.from(`d${String(i).padStart(4, '0')}`), data: Buffer.alloc(9000, i & 255) }))]
  for (const entries of lists) {
    const lasting = encodeTree(entries)
    const copy = Buffer.from(lasting)
    t.ok(encodeTreeTransient(entries).equals(copy), `encodeTreeTransient, ${entries.length} entries`)
    const parts = entries.map(e => Buffer.from(encodeEntry(e)))
    t.ok(treeFromEncodedEntries(parts).equals(copy), `treeFromEncodedEntries, ${entries.length} entries`)
    t.ok(treeFromEncodedEntriesTransient(parts).equals(copy), `treeFromEncodedEntriesTransient, ${entries.length} entries`)
    t.ok(lasting.equals(copy), 'the lasting encoding is untouched by the transient ones after it')
  }
  const names = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)]
  const index = encodeTreeIndex(names)
  const indexCopy = Buffer.from(index)
  t.ok(encodeTreeIndexTransient(names).equals(indexCopy))
  encodeTreeTransient(lists[3] as Entry[])
  t.ok(index.equals(indexCopy), 'nor is a lasting index')
  t.same(decodeTreeIndex(indexCopy), names)
  // Larger than the transient buffer (4 MiB): still exact.
  const huge = Array.from({ length: 300 }, (_, i) => ({ ...(known[0] as Entry), name: Buffer.from(`h${String(i).padStart(4, '0')}`), data: Buffer.alloc(16000, i & 255) }))
  const hugeCopy = Buffer.from(encodeTree(huge))
  t.ok(hugeCopy.length > 4 * 1024 * 1024)
  t.ok(encodeTreeTransient(huge).equals(hugeCopy), 'a transient encoding past the buffer')
  t.ok(treeFromEncodedEntriesTransient(huge.map(e => Buffer.from(encodeEntry(e)))).equals(hugeCopy), 'entries past the buffer')
})

t.test('slices: a chunk reference of three elements, [object, length, offset] (doc/format.md §5.6)', async t => {
  const hash = Buffer.alloc(32, 0xab)
  const e: Entry = { name: Buffer.from('f'), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, size: 300, mtime: [1, 0], ctime: [1, 0], ino: 2, chunks: [{ hash, length: 100 }, { hash, length: 200, offset: 70_000 }] }
  const bytes = Buffer.from(encodeEntry(e))
  // c: fixarray(2) of [bin8(32) hash, 100] and [bin8(32) hash, 200 (uint8), 70000 (uint32)]
  const c = Buffer.concat([Buffer.from([0xa1, 0x63, 0x92, 0x92, 0xc4, 32]), hash, Buffer.from([100, 0x93, 0xc4, 32]), hash, Buffer.from([0xcc, 200, 0xce, 0x00, 0x01, 0x11, 0x70])])
  t.ok(bytes.subarray(bytes.length - c.length).equals(c), 'the bytes as format.md gives them')
  t.ok(entryLengthBound(e) >= bytes.length, 'entryLengthBound covers the offset')
  const back = decodeTree(encodeTree([e]))
  t.same(back[0]?.chunks, e.chunks, 'decoded with the offset, the whole chunk without one')
  t.notOk(sameEntry(e, { ...e, chunks: [{ hash, length: 100 }, { hash, length: 200, offset: 70_001 }] }), 'another offset is another entry')
})
