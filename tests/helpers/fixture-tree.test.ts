import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { native } from '../../lib/fs/native.js'
import { buildTree, FULL, fullFixture, seededBytes, setMtimeNs, tmpDirFor, type FixtureNode } from './fixture-tree.js'
import { assertSameTree, compareTrees, showNs, type TapLike } from './compare-trees.js'
import { showPath } from './show-path.js'
import { findNode, hardlinkGroups, snapshotTree, splitRdev, type NodeSnapshot } from './tree-snapshot.js'

const P = FULL.paths
const SMALL_BIG = 3 * 1024 * 1024 + 12345
// AES-128-CTR keystream, key sha256('tarshift fixture seed 1')[0..16], zero IV (checked with openssl).
const GOLDEN_SEED1_16 = '21e49bb5a1d53957a8e3cf261e111aee'

function node(t: { ok(v: unknown, msg: string): unknown }, snap: NodeSnapshot[], rel: string | Buffer): NodeSnapshot {
  const n = findNode(snap, rel)
  t.ok(n, `has ${showPath(Buffer.from(rel))}`)
  if (!n) throw new Error(`missing ${showPath(Buffer.from(rel))}`)
  return n
}

/** A fresh fullFixture at <tmp>/src and its cp -a copy at <tmp>/copy. */
function fixtureAndCopy(t: Parameters<typeof tmpDirFor>[0], bigSize = 100_000): { src: string; copy: string } {
  const dir = tmpDirFor(t, 'tarshift-fixture-')
  const src = path.join(dir, 'src')
  const copy = path.join(dir, 'copy')
  buildTree(src, fullFixture(bigSize))
  execFileSync('cp', ['-a', '--preserve=all', src, copy])
  return { src, copy }
}

t.test('seededBytes is deterministic, seed-dependent and pinned', async t => {
  t.ok(seededBytes(100_000, 7).equals(seededBytes(100_000, 7)))
  t.notOk(seededBytes(64, 7).equals(seededBytes(64, 8)))
  t.ok(seededBytes(1000, 7).subarray(0, 10).equals(seededBytes(10, 7)), 'a prefix of a longer stream')
  t.equal(seededBytes(0, 1).length, 0)
  // Golden: fixtures and chunker tests rely on these bytes never changing.
  t.equal(seededBytes(16, 1).toString('hex'), GOLDEN_SEED1_16)
})

t.test('showPath escapes like GNU tar', async t => {
  t.equal(showPath(Buffer.from('plain/name.txt')), 'plain/name.txt')
  t.equal(showPath(Buffer.from('new\nline\ttab')), 'new\\nline\\ttab')
  t.equal(showPath(Buffer.from([0x66, 0xff, 0xfe])), 'f\\377\\376')
  t.equal(showPath(Buffer.from('back\\slash')), 'back\\\\slash')
  t.equal(showPath(Buffer.from('café ünï')), 'café ünï', 'valid UTF-8 is kept')
  t.equal(showPath(Buffer.from([0x01, 0x7f, 0x1b])), '\\001\\177\\033')
  t.equal(showPath(Buffer.from([0xc3])), '\\303', 'truncated sequence')
  t.equal(showPath(Buffer.from([0xc0, 0xaf])), '\\300\\257', 'overlong encoding')
  t.equal(showPath(Buffer.from([0xed, 0xa0, 0x80])), '\\355\\240\\200', 'surrogate')
  t.equal(showPath(Buffer.from([0xc2, 0x85])), '\\302\\205', 'C1 control')
  t.equal(showPath(Buffer.from('😀')), '😀')
  t.equal(showPath(Buffer.from('a\u2028b\uffff\u0378')), 'a\\342\\200\\250b\\357\\277\\277\\315\\270', 'not printable for glibc')
  t.equal(showPath(Buffer.from('\u00a0\u200b\ue000')), '\u00a0\u200b\ue000', 'nbsp, format and private-use characters are kept')
})

t.test('fullFixture contains everything asked for', async t => {
  const dir = tmpDirFor(t, 'tarshift-fixture-')
  const src = path.join(dir, 'src')
  buildTree(src, fullFixture())
  const snap = snapshotTree(src)

  t.same([...new Set(snap.map(n => n.type))].sort(), ['blockdev', 'chardev', 'dir', 'fifo', 'file', 'symlink'])
  t.equal(snap[0]?.path.length, 0, 'root first')
  t.ok(snap.every((n, i) => i === 0 || Buffer.compare((snap[i - 1] as NodeSnapshot).path, n.path) < 0), 'sorted by path bytes')

  t.equal(node(t, snap, P.regular).sha256, createHash('sha256').update('hello, tarshift\n').digest('hex'))
  t.equal(node(t, snap, P.empty).size, 0)
  const big = node(t, snap, P.big)
  t.equal(big.size, 9 * 1024 * 1024, 'big file is 9 MiB by default')
  t.equal(big.sha256, createHash('sha256').update(seededBytes(9 * 1024 * 1024, FULL.bigSeed)).digest('hex'))
  t.equal(node(t, snap, 'inline-16384.bin').size, 16384)

  t.equal(node(t, snap, P.setuid).mode, 0o4755, 'setuid')
  t.equal(node(t, snap, P.setgid).mode, 0o2755, 'setgid')
  t.equal(node(t, snap, P.sticky).mode, 0o1777, 'sticky dir')
  const m0 = node(t, snap, P.mode000)
  t.equal(m0.mode, 0, 'mode 000')
  t.equal(m0.sha256, createHash('sha256').update('no permission bits at all\n').digest('hex'), 'mode 000 content')
  const owned = node(t, snap, P.owned)
  t.same([owned.uid, owned.gid, owned.mode], [1234, 5678, 0o640])

  t.same(node(t, snap, P.xattrs).xattrs, [
    ['user.binary', '00ff0a3d'],
    ['user.empty', ''],
    ['user.text', Buffer.from('tarshift').toString('hex')],
  ])
  t.same(node(t, snap, 'dir').xattrs, [['user.on-dir', '3d00ff']])

  t.ok(findNode(snap, P.newline), 'newline name')
  const nonUtf8 = node(t, snap, P.nonUtf8)
  t.equal(nonUtf8.path.subarray(4).toString('hex'), '66fffe', 'non-UTF-8 name bytes')
  t.equal(node(t, snap, Buffer.concat([P.nonUtf8Dir, Buffer.from('/inner')])).type, 'file')
  t.equal(Buffer.byteLength(P.name250.slice(4)), 250)
  t.ok(findNode(snap, P.name250), '250-byte name')
  t.ok(Buffer.byteLength(P.long) > 300)
  t.equal(node(t, snap, P.long).type, 'file', 'path > 300 bytes')
  t.equal(node(t, snap, 'odd/with space \\ backslash').type, 'file')

  t.equal(node(t, snap, P.dangling).target?.toString(), 'no/such/target')
  t.notOk(fs.existsSync(path.join(src, 'links', 'no/such/target')), 'dangling')
  t.equal(node(t, snap, P.longTarget).target?.length, 500, '500-byte target')
  t.equal(node(t, snap, P.longTarget).size, 500)
  t.equal(node(t, snap, 'links/to-non-utf8').target?.toString('hex'), Buffer.from('../odd/\x66\xff\xfe', 'latin1').toString('hex'))

  t.equal(node(t, snap, P.pre1970).mtimeNs, -123456788_500000000n, 'pre-1970 mtime exact')
  t.equal(node(t, snap, P.post2038).mtimeNs, 4102444800_123456789n, 'post-2038 mtime exact')
  t.equal(node(t, snap, P.symlinkNs).mtimeNs, 1234567890_987654321n, 'symlink ns mtime')
  t.equal(node(t, snap, 'times').mtimeNs, FULL.post2038Ns, 'dir mtime set after its children')
  t.equal(node(t, snap, 'times/dir-pre-1970').mtimeNs, FULL.pre1970Ns)
  t.equal(node(t, snap, P.regular).atimeNs, node(t, snap, P.regular).mtimeNs, 'atime = mtime')
  t.equal(snap.filter(n => n.mtimeNs % 1_000_000_000n !== 0n).length, snap.length, 'every mtime has nanoseconds')

  t.same(hardlinkGroups(snap), [[...P.trio], [...P.pair]])
  t.equal(node(t, snap, P.trio[0]).nlink, 3)
  t.equal(node(t, snap, P.trio[2]).mode, 0o600)

  t.equal(node(t, snap, P.fifo).type, 'fifo')
  const chr = node(t, snap, P.chardev)
  t.same([chr.type, chr.rdevMajor, chr.rdevMinor, chr.mode], ['chardev', 1, 3, 0o666])
  const blk = node(t, snap, P.blockdev)
  t.same([blk.type, blk.rdevMajor, blk.rdevMinor], ['blockdev', 7, 0])
  const bigdev = node(t, snap, P.bigNumbersDev)
  t.same([bigdev.rdevMajor, bigdev.rdevMinor], [300, 70000])
  t.same(splitRdev(0x0001_2000_6783_459an), { major: 0x12345, minor: 0x6789a }, 'dev_t split, high bits too')

  // A second build is identical except for inode numbers.
  const src2 = path.join(dir, 'src2')
  buildTree(src2, fullFixture())
  t.same(compareTrees(snap, snapshotTree(src2)), [], 'fullFixture is reproducible')
})

t.test('snapshotTree leaves atimes alone', async t => {
  const dir = tmpDirFor(t, 'tarshift-fixture-')
  buildTree(dir, { type: 'dir', children: { f: { type: 'file', content: 'x', mtimeNs: 1_000_000_000n } } })
  const before = snapshotTree(dir)
  t.same(compareTrees(before, snapshotTree(dir), { compareAtime: true }), [], 'snapshotting twice')
  fs.readFileSync(path.join(dir, 'f'))
  const diffs = compareTrees(before, snapshotTree(dir), { compareAtime: true })
  t.match(diffs, [/^f: atime a=1970-01-01T00:00:01.000000000Z b=/], 'a plain read is seen (relatime, atime <= mtime)')
  t.equal(diffs.length, 1)
})

t.test('a cp -a copy compares equal', async t => {
  const { src, copy } = fixtureAndCopy(t, SMALL_BIG)
  const a = snapshotTree(src)
  const b = snapshotTree(copy)
  t.same(compareTrees(a, b), [], 'no differences')
  t.same(hardlinkGroups(b), hardlinkGroups(a), 'same hardlink groups')
  t.notSame(
    a.map(n => n.ino),
    b.map(n => n.ino),
    'inode numbers differ, yet nothing is reported',
  )
  assertSameTree(t, src, copy)
})

t.test('each kind of change is reported precisely', async t => {
  const { src, copy } = fixtureAndCopy(t)
  const a = snapshotTree(src)
  const at = (rel: string | Buffer): Buffer => Buffer.concat([Buffer.from(copy + '/'), Buffer.from(rel)])
  const mtimeOf = (rel: string | Buffer): bigint => (findNode(a, rel) as NodeSnapshot).mtimeNs
  const check = (what: string, expected: string[], opts = {}): void => {
    t.same(compareTrees(a, snapshotTree(copy), opts), expected, what)
  }

  // Content: same size, different bytes; the mtime is put back so only the hash differs.
  fs.writeFileSync(at(P.regular), 'HELLO, tarshift\n')
  setMtimeNs(at(P.regular), mtimeOf(P.regular))
  const h = (s: string): string => createHash('sha256').update(s).digest('hex')
  check('content', [`regular.txt: sha256 a=${h('hello, tarshift\n')} b=${h('HELLO, tarshift\n')}`])
  fs.writeFileSync(at(P.regular), 'hello, tarshift\n')
  setMtimeNs(at(P.regular), mtimeOf(P.regular))
  check('content restored', [])

  // Mode, on a file inside a non-UTF-8 directory.
  const inner = Buffer.concat([P.nonUtf8Dir, Buffer.from('/inner')])
  fs.chmodSync(at(inner), 0o600)
  check('mode', ['odd/d\\377/inner: mode a=0644 b=0600'])
  fs.chmodSync(at(inner), 0o644)

  // Xattr value, binary.
  native.lsetxattr(at(P.xattrs), Buffer.from('user.binary'), Buffer.from([0x00, 0xff, 0x0a, 0x3e]))
  check('xattr', ['xattrs.bin: xattr user.binary a=00ff0a3d b=00ff0a3e'])
  native.lsetxattr(at(P.xattrs), Buffer.from('user.binary'), FULL.xattrBinary)
  check('xattr restored', [])

  // mtime off by one nanosecond, on a non-UTF-8 name and before 1970.
  setMtimeNs(at(P.nonUtf8), mtimeOf(P.nonUtf8) + 1n)
  const n = mtimeOf(P.nonUtf8)
  check('mtime', [`odd/f\\377\\376: mtime a=${showNs(n)} b=${showNs(n + 1n)}`])
  check('mtime at us precision', [], { mtimePrecision: 'us' })
  check('mtime ignored', [], { ignore: ['mtime'] })
  setMtimeNs(at(P.nonUtf8), n)
  setMtimeNs(at(P.pre1970), FULL.pre1970Ns - 1n)
  check('mtime before 1970', [
    'times/pre-1970: mtime a=1966-02-02T02:26:51.500000000Z b=1966-02-02T02:26:51.499999999Z',
  ])
  setMtimeNs(at(P.pre1970), FULL.pre1970Ns)

  // Owner.
  fs.lchownSync(at(P.owned), 1234, 0)
  check('gid', ['owned: gid a=5678 b=0'])
  check('gid ignored', [], { ignore: ['gid'] })
  fs.lchownSync(at(P.owned), 1234, 5678)
  fs.chmodSync(at(P.owned), 0o640)

  // Root mode and mtime (restores usually do not own the target dir).
  fs.chmodSync(copy, 0o700)
  check('root mode', ['. (root): mode a=0755 b=0700'])
  check('root mode ignored', [], { ignore: ['rootMode'] })
  check('root skipped', [], { skipRoot: true })
  fs.chmodSync(copy, 0o755)

  // Symlink target, device numbers, type.
  fs.unlinkSync(at(P.dangling))
  fs.symlinkSync('no/such/targeT', at(P.dangling))
  setMtimeNs(at(P.dangling), mtimeOf(P.dangling))
  setMtimeNs(at('links'), mtimeOf('links'))
  check('symlink target', ['links/dangling: target a=no/such/target b=no/such/targeT'])
  fs.unlinkSync(at(P.dangling))
  fs.writeFileSync(at(P.dangling), '')
  fs.chmodSync(at(P.dangling), 0o777)
  setMtimeNs(at(P.dangling), mtimeOf(P.dangling))
  setMtimeNs(at('links'), mtimeOf('links'))
  check('type', ['links/dangling: type a=symlink b=file'])
  fs.unlinkSync(at(P.dangling))
  fs.symlinkSync('no/such/target', at(P.dangling))
  setMtimeNs(at(P.dangling), mtimeOf(P.dangling))
  setMtimeNs(at('links'), mtimeOf('links'))
  check('symlink restored', [])

  // Hardlink structure: trio-3 becomes an independent copy with the same content and metadata.
  const trio3 = at('trio-3')
  fs.copyFileSync(trio3, trio3 + '.tmp')
  fs.chmodSync(trio3 + '.tmp', 0o600)
  setMtimeNs(trio3 + '.tmp', mtimeOf('trio-3'))
  fs.renameSync(trio3 + '.tmp', trio3)
  setMtimeNs(copy, mtimeOf(''))
  check('broken hardlink', [
    'hardlinks: a links {dir/sub/trio-2, hardlinks/trio-1, trio-3}; b has {dir/sub/trio-2, hardlinks/trio-1}, trio-3 unlinked',
    'hardlinks: b links {dir/sub/trio-2, hardlinks/trio-1}; a has {dir/sub/trio-2, hardlinks/trio-1, trio-3}',
  ])
  check('hardlinks ignored', [], { ignore: ['hardlinks'] })

  // Missing and extra entries; the parent's mtime changes with them.
  fs.unlinkSync(at(P.empty))
  fs.writeFileSync(at('extra'), '')
  setMtimeNs(copy, mtimeOf(''))
  check('missing and extra', ['empty: only in a (file)', 'extra: only in b (file)'], { ignore: ['hardlinks'] })
})

t.test('assertSameTree reports the first differences', async t => {
  const dir = tmpDirFor(t, 'tarshift-fixture-')
  const spec = (content: string): FixtureNode => ({
    type: 'dir',
    mtimeNs: 1n,
    children: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${String(i).padStart(2, '0')}`, { type: 'file', content, mtimeNs: 2n }])),
  })
  buildTree(path.join(dir, 'a'), spec('a'))
  buildTree(path.join(dir, 'b'), spec('b'))
  const calls: Array<[string, string | undefined, Record<string, unknown> | undefined]> = []
  const fake: TapLike = {
    pass: m => calls.push(['pass', m, undefined]),
    fail: (m, extra) => calls.push(['fail', m, extra]),
  }
  const diffs = assertSameTree(fake, path.join(dir, 'a'), path.join(dir, 'b'))
  t.equal(diffs.length, 25)
  t.equal(calls.length, 1)
  const [kind, msg, extra] = calls[0] ?? []
  t.equal(kind, 'fail')
  t.match(msg, /^trees are the same: 25 difference\(s\), first: f00: sha256 a=/)
  t.equal(extra?.total, 25)
  t.match(extra?.stack, /fixture-tree\.test\./, 'points at the caller')
  t.equal((extra?.differences as string[]).length, 20)
  assertSameTree(fake, path.join(dir, 'a'), path.join(dir, 'a'))
  t.equal(calls[1]?.[0], 'pass')
})

