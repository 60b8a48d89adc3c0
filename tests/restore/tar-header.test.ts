import t from 'tap'
import { encodeMember, paddingFor, END_OF_ARCHIVE, TarFormatError, formatLosses, type TarMember } from '../../lib/restore/tar-header.js'
import { fitsBase256, floorSeconds, maxOctal, writeBase256, writeChecksum, writeOctal } from '../../lib/restore/tar-fields.js'
import { paxRecord, paxTime, xattrKeyword } from '../../lib/restore/pax-records.js'
import { asciiSafe, paxHeaderName, splitUstar } from '../../lib/restore/tar-names.js'

// ---- a small reader for what the encoder writes (independent of the encoder's code) ----

function cstr(b: Buffer, off: number, len: number): Buffer {
  const f = b.subarray(off, off + len)
  const nul = f.indexOf(0)
  return nul < 0 ? f : f.subarray(0, nul)
}

function num(f: Buffer): bigint {
  if (((f[0] as number) & 0x80) !== 0) {
    let v = 0n
    for (const byte of f.subarray(1)) v = (v << 8n) | BigInt(byte)
    return f[0] === 0xff ? v - (1n << BigInt(8 * (f.length - 1))) : v
  }
  const s = cstr(f, 0, f.length).toString('latin1').trim()
  return s === '' ? 0n : BigInt('0o' + s)
}

function header(b: Buffer) {
  return {
    name: cstr(b, 0, 100),
    mode: Number(num(b.subarray(100, 108))),
    uid: num(b.subarray(108, 116)),
    gid: num(b.subarray(116, 124)),
    size: num(b.subarray(124, 136)),
    mtime: num(b.subarray(136, 148)),
    chksum: b.subarray(148, 156).toString('latin1'),
    typeflag: String.fromCharCode(b[156] as number),
    linkname: cstr(b, 157, 100),
    magic: b.subarray(257, 265).toString('latin1'),
    uname: cstr(b, 265, 32).toString('latin1'),
    gname: cstr(b, 297, 32).toString('latin1'),
    devRaw: b.subarray(329, 345),
    devmajor: num(b.subarray(329, 337)),
    devminor: num(b.subarray(337, 345)),
    prefix: cstr(b, 345, 155),
  }
}

/** Split encoder output into [header, data] pairs: extension blocks first, the main header last. */
function members(out: Buffer): Array<{ h: ReturnType<typeof header>; data: Buffer }> {
  const res: Array<{ h: ReturnType<typeof header>; data: Buffer }> = []
  let off = 0
  while (off < out.length) {
    const h = header(out.subarray(off, off + 512))
    off += 512
    const isExt = h.typeflag === 'x' || h.typeflag === 'L' || h.typeflag === 'K'
    const n = isExt ? Number(h.size) : 0
    res.push({ h, data: out.subarray(off, off + n) })
    off += n + paddingFor(n)
  }
  return res
}

/** Records of a pax extended header, parsed by their byte lengths. */
function paxParse(data: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = []
  let off = 0
  while (off < data.length) {
    const sp = data.indexOf(0x20, off)
    const len = Number(data.subarray(off, sp).toString('latin1'))
    const rec = data.subarray(off, off + len)
    const eq = rec.indexOf(0x3d)
    if (rec[rec.length - 1] !== 0x0a) throw new Error(`record at ${off} does not end in a newline`)
    out.push([rec.subarray(sp - off + 1, eq).toString('latin1'), rec.subarray(eq + 1, rec.length - 1)])
    off += len
  }
  return out
}

function checksumOk(block: Buffer): boolean {
  const copy = Buffer.from(block)
  copy.fill(0x20, 148, 156)
  let sum = 0
  for (const b of copy) sum += b
  return Number('0o' + block.subarray(148, 154).toString('latin1')) === sum
}

const base: TarMember = {
  name: Buffer.from('home/ann/notes.txt'),
  type: 'file',
  mode: 0o644,
  uid: 1000,
  gid: 100,
  uname: 'ann',
  gname: 'users',
  size: 5,
  mtimeNs: 1_700_000_000_000_000_000n,
}

// ---- fields ----

t.test('octal fields: width-1 zero-padded digits and a NUL', async t => {
  const cases: Array<[number, bigint, string]> = [
    [8, 0n, '0000000\0'],
    [8, 0o644n, '0000644\0'],
    [8, 0o4755n, '0004755\0'],
    [8, 0o7777777n, '7777777\0'],
    [12, 5n, '00000000005\0'],
    [12, 8n ** 11n - 1n, '77777777777\0'],
  ]
  for (const [width, value, want] of cases) {
    const b = Buffer.alloc(width)
    writeOctal(b, 0, width, value)
    t.equal(b.toString('latin1'), want, `${value} in ${width}`)
  }
  t.equal(maxOctal(8), 2097151n)
  t.equal(maxOctal(12), 8589934591n)
  t.throws(() => writeOctal(Buffer.alloc(8), 0, 8, 0o10000000n), RangeError)
  t.throws(() => writeOctal(Buffer.alloc(12), 0, 12, -1n), RangeError)
})

t.test('base-256 fields: 0x80 or 0xff marker, then two\'s complement big-endian', async t => {
  const cases: Array<[number, bigint, string]> = [
    [8, 2097152n, '80' + '0000000020' + '0000'],
    [8, 4294967295n, '80' + '000000ffffffff'],
    [12, 8n * 2n ** 30n, '80' + '0000000000000200000000'],
    [12, -1n, 'ff'.repeat(12)],
    [12, -2n, 'ff'.repeat(11) + 'fe'],
    [12, -123456790n, 'ff' + 'ffffffffffffff' + 'f8a432ea'],
  ]
  for (const [width, value, want] of cases) {
    const b = Buffer.alloc(width)
    writeBase256(b, 0, width, value)
    t.equal(b.toString('hex'), want, `${value} in ${width}`)
    t.equal(num(b), value, `${value} reads back`)
  }
  t.ok(fitsBase256(-(2n ** 56n), 8))
  t.notOk(fitsBase256(2n ** 56n, 8))
})

t.test('checksum: sum of bytes with the field as spaces, "%06o\\0 "', async t => {
  const zero = Buffer.alloc(512)
  t.equal(writeChecksum(zero), 256)
  t.equal(zero.subarray(148, 156).toString('latin1'), '000400\0 ')
  const h = encodeMember(base, 'pax')
  t.ok(checksumOk(h))
  t.equal(h.subarray(154, 156).toString('latin1'), '\0 ')
})

t.test('times: pax decimal seconds and header whole seconds', async t => {
  const cases: Array<[bigint, string, bigint]> = [
    [0n, '0', 0n],
    [7_000_000_000n, '7', 7n],
    [1_500_000_000n, '1.5', 1n],
    [1n, '0.000000001', 0n],
    [-1n, '-0.000000001', -1n],
    [-500_000_000n, '-0.5', -1n],
    [-1_500_000_000n, '-1.5', -2n],
    [-2_000_000_000n, '-2', -2n],
    [-123_456_789_500_000_000n, '-123456789.5', -123456790n],
    [4_102_444_800_123_456_789n, '4102444800.123456789', 4102444800n],
    [1_700_000_000_100_000_000n, '1700000000.1', 1700000000n],
  ]
  for (const [ns, text, secs] of cases) {
    t.equal(paxTime(ns), text, `paxTime ${ns}`)
    t.equal(floorSeconds(ns), secs, `floorSeconds ${ns}`)
  }
})

// ---- pax records ----

t.test('pax record length counts its own digits, in bytes', async t => {
  // body = " a=" + value + "\n" = value + 4 bytes
  const cases: Array<[number, number]> = [
    [0, 5], // "5 a=\n"
    [4, 9], // body 8: one digit
    [5, 11], // body 9: 1 digit would make 10, which needs 2
    [93, 99], // body 97: 99
    [94, 101], // body 98: 100 needs 3 digits → 101
    [95, 102],
    [992, 999], // body 996
    [993, 1001], // body 997: 1000 needs 4 digits → 1001
  ]
  for (const [vlen, total] of cases) {
    const r = paxRecord('a', Buffer.alloc(vlen, 0x78))
    t.equal(r.length, total, `value of ${vlen} bytes`)
    t.equal(r.toString('latin1').split(' ')[0], String(total))
  }
  for (let v = 0; v < 1200; v++) {
    const r = paxRecord('path', Buffer.alloc(v, 0xe9))
    const len = Number(r.subarray(0, r.indexOf(0x20)).toString('latin1'))
    if (len !== r.length) t.fail(`length ${len} != ${r.length} for value ${v}`)
  }
  const utf8 = paxRecord('path', 'é')
  t.equal(utf8.toString('utf8'), '11 path=é\n', 'multi-byte characters are counted as bytes')
})

t.test('binary xattr values go out byte-exact', async t => {
  const r = paxRecord(xattrKeyword(Buffer.from('user.bin')), Buffer.from([0, 255, 10, 61]))
  t.equal(r.toString('hex'), Buffer.concat([Buffer.from('30 SCHILY.xattr.user.bin='), Buffer.from([0, 255, 10, 61]), Buffer.from('\n')]).toString('hex'))
  t.equal(xattrKeyword(Buffer.from('user.a=b%c')).toString(), 'SCHILY.xattr.user.a%3Db%25c')
})

// ---- names ----

t.test('ustar prefix/name split', async t => {
  const a = (n: number, c = 'a') => c.repeat(n)
  const cases: Array<[string, [string, string] | null]> = [
    ['x', ['', 'x']],
    [a(100), ['', a(100)]],
    [a(101), null],
    [`${a(155)}/${a(100)}`, [a(155), a(100)]],
    [`${a(156)}/${a(99)}`, null],
    [`${a(10)}/${a(101)}`, null],
    [`${a(50)}/${a(50)}/${a(50)}`, [a(50) + '/' + a(50), a(50)]], // longest prefix, as GNU tar
    [`${a(60)}/${a(100)}/`, null], // the trailing slash belongs to the name: 101 bytes
    [`${a(60)}/${a(99)}/`, [a(60), a(99) + '/']],
    [`${a(150)}/${a(50)}/${a(60)}`, null], // prefix of 201 or name of 111: neither fits
    [`${a(100)}/${a(50)}/${a(60)}`, [a(100) + '/' + a(50), a(60)]],
  ]
  for (const [path, want] of cases) {
    const s = splitUstar(Buffer.from(path))
    t.same(s && [s.prefix.toString(), s.name.toString()], want, `${path.length} bytes`)
  }
})

t.test('ASCII-safe stand-ins and pax header names', async t => {
  t.equal(asciiSafe(Buffer.from([0x66, 0xff, 0xfe, 0x0a]), 10).toString('latin1'), 'f__\n')
  t.equal(paxHeaderName(Buffer.from('etc/passwd')).toString(), 'etc/PaxHeaders/passwd')
  t.equal(paxHeaderName(Buffer.from('top')).toString(), './PaxHeaders/top')
  t.equal(paxHeaderName(Buffer.from('a/dir/')).toString(), 'a/PaxHeaders/dir')
  const long = paxHeaderName(Buffer.from(`${'d'.repeat(200)}/${'f'.repeat(150)}`))
  t.equal(long.toString(), 'PaxHeaders/' + 'f'.repeat(89))
})

// ---- members ----

t.test('typeflags, directory slash, link targets, devices', async t => {
  const cases: Array<[Partial<TarMember>, string]> = [
    [{ type: 'file' }, '0'],
    [{ type: 'hardlink', size: 0, linkname: Buffer.from('home/ann/other') }, '1'],
    [{ type: 'symlink', size: 0, linkname: Buffer.from('../x') }, '2'],
    [{ type: 'chardev', size: 0, devmajor: 1, devminor: 3 }, '3'],
    [{ type: 'blockdev', size: 0, devmajor: 259, devminor: 70000 }, '4'],
    [{ type: 'dir', size: 0 }, '5'],
    [{ type: 'fifo', size: 0 }, '6'],
  ]
  for (const format of ['pax', 'gnu', 'ustar'] as const) {
    for (const [over, flag] of cases) {
      const m = { ...base, ...over }
      const out = encodeMember(m, format)
      t.equal(out.length, 512, `${format} ${m.type}: one block`)
      const h = header(out)
      t.ok(checksumOk(out), `${format} ${m.type}: checksum`)
      t.equal(h.typeflag, flag)
      t.equal(h.name.toString(), m.type === 'dir' ? 'home/ann/notes.txt/' : 'home/ann/notes.txt')
      t.equal(h.size, m.type === 'file' ? 5n : 0n)
      t.equal(h.linkname.toString(), m.linkname?.toString() ?? '')
      t.equal(h.magic, format === 'gnu' ? 'ustar  \0' : 'ustar\x0000')
      if (m.type === 'chardev' || m.type === 'blockdev') {
        t.equal(h.devmajor, BigInt(m.devmajor ?? -1))
        t.equal(h.devminor, BigInt(m.devminor ?? -1))
      } else if (format === 'gnu') {
        t.ok(h.devRaw.equals(Buffer.alloc(16)), 'gnu: empty device fields, as GNU tar')
      } else {
        t.equal(h.devRaw.toString('latin1'), '0000000\0'.repeat(2))
      }
    }
  }
})

t.test('modes keep setuid/setgid/sticky; owners and time go in the fields', async t => {
  for (const mode of [0o4755, 0o2755, 0o1777, 0, 0o7777]) {
    for (const format of ['pax', 'gnu', 'ustar'] as const) {
      t.equal(header(encodeMember({ ...base, mode }, format)).mode, mode, `${format} ${mode.toString(8)}`)
    }
  }
  const h = header(encodeMember(base, 'ustar'))
  t.same([h.uid, h.gid, h.uname, h.gname, h.mtime], [1000n, 100n, 'ann', 'users', 1700000000n])
})

t.test('golden bytes: a plain file in ustar', async t => {
  const out = encodeMember({ ...base, name: Buffer.from('a'), mode: 0o640, uid: 0, gid: 0, uname: 'root', gname: 'root' }, 'ustar')
  const want = Buffer.alloc(512)
  want.write('a', 0)
  want.write('0000640\x000000000\x000000000\x0000000000005\x0014524770400\x00', 100, 'latin1')
  want.write('011211\x00 0', 148, 'latin1')
  want.write('ustar\x0000root', 257, 'latin1')
  want.write('root', 297)
  want.write('0000000\x000000000\x00', 329, 'latin1')
  t.equal(out.toString('hex'), want.toString('hex'))
})

t.test('pax: a plain ASCII member that fits needs no extended header', async t => {
  t.equal(encodeMember(base, 'pax').length, 512)
  t.equal(encodeMember({ ...base, name: Buffer.from(`${'p'.repeat(150)}/${'n'.repeat(100)}`) }, 'pax').length, 512)
})

t.test('pax: records for what ustar cannot hold, stand-ins in the header', async t => {
  const nonUtf8 = Buffer.from([0x66, 0xff, 0xfe])
  const m: TarMember = {
    ...base,
    name: nonUtf8,
    uid: 3_000_000,
    gid: 0o10000000,
    uname: 'ännä',
    gname: 'g'.repeat(32),
    size: 8 * 2 ** 30,
    mtimeNs: -123_456_789_500_000_000n,
    atimeNs: 4_102_444_800_123_456_789n,
    xattrs: [[Buffer.from('user.bin'), Buffer.from([0, 255, 10, 61])], [Buffer.from('security.capability'), Buffer.from([1, 0, 0, 2])]],
    aclAccess: 'user::rw-,group::r--,other::r--',
    aclDefault: 'user::rwx,group::r-x,other::---',
  }
  const [x, main, ...rest] = members(encodeMember(m, 'pax'))
  t.equal(rest.length, 0)
  if (!x || !main) throw new Error('two headers expected')
  t.equal(x.h.typeflag, 'x')
  t.equal(x.h.name.toString('latin1'), './PaxHeaders/f__')
  t.equal(x.h.size, BigInt(x.data.length))
  t.same(paxParse(x.data).map(([k, v]) => [k, v.toString('hex')]), [
    ['path', nonUtf8.toString('hex')],
    ['size', Buffer.from('8589934592').toString('hex')],
    ['uid', Buffer.from('3000000').toString('hex')],
    ['gid', Buffer.from('2097152').toString('hex')],
    ['uname', Buffer.from('ännä').toString('hex')],
    ['gname', Buffer.from('g'.repeat(32)).toString('hex')],
    ['mtime', Buffer.from('-123456789.5').toString('hex')],
    ['atime', Buffer.from('4102444800.123456789').toString('hex')],
    ['SCHILY.acl.access', Buffer.from(m.aclAccess ?? '').toString('hex')],
    ['SCHILY.acl.default', Buffer.from(m.aclDefault ?? '').toString('hex')],
    ['SCHILY.xattr.user.bin', '00ff0a3d'],
    ['SCHILY.xattr.security.capability', '01000002'],
  ])
  t.ok(checksumOk(encodeMember(m, 'pax').subarray(0, 512)), 'extended header checksum')
  t.equal(main.h.name.toString('latin1'), 'f__', 'ASCII-safe stand-in name')
  t.same([main.h.uid, main.h.gid, main.h.size, main.h.mtime], [0n, 0n, 0n, 0n], 'numbers out of range are 0, as GNU tar')
  t.equal(main.h.uname, '__nn__', 'uname field is an ASCII stand-in')
  t.equal(main.h.gname, 'g'.repeat(31))
})

t.test('pax: valid UTF-8 names need a path record but no hdrcharset', async t => {
  const [x, main] = members(encodeMember({ ...base, name: Buffer.from('café/crème') }, 'pax'))
  if (!x || !main) throw new Error('two headers expected')
  t.same(paxParse(x.data).map(([k, v]) => [k, v.toString()]), [['path', 'café/crème']])
  t.equal(main.h.name.toString('latin1'), 'caf__/cr__me')
})

t.test('pax: long names and link targets; a 100-byte name still fits', async t => {
  const longPath = Buffer.from(`${'a'.repeat(250)}/${'b'.repeat(100)}`)
  const [x, main] = members(encodeMember({ ...base, name: longPath }, 'pax'))
  if (!x || !main) throw new Error('two headers expected')
  t.ok(paxParse(x.data)[0]?.[1].equals(longPath))
  t.equal(main.h.name.length, 100)
  t.ok(longPath.subarray(0, 100).equals(main.h.name), 'cut name in the header, as GNU tar')

  const target = Buffer.alloc(500, 0x74)
  const [lx, lmain] = members(encodeMember({ ...base, type: 'symlink', size: 0, linkname: target }, 'pax'))
  if (!lx || !lmain) throw new Error('two headers expected')
  t.same(paxParse(lx.data).map(([k, v]) => [k, v.length]), [['linkpath', 500]])
  t.equal(lmain.h.linkname.length, 100)

  t.equal(encodeMember({ ...base, name: Buffer.alloc(100, 0x61) }, 'pax').length, 512)
  t.equal(encodeMember({ ...base, type: 'dir', size: 0, name: Buffer.alloc(100, 0x61) }, 'pax').length, 512 * 3,
    'a 100-byte directory name plus its slash needs a path record')
})

t.test('pax: whole-second mtimes in range need no record; sub-second ones do', async t => {
  t.equal(encodeMember({ ...base, mtimeNs: 0n }, 'pax').length, 512)
  const [x, main] = members(encodeMember({ ...base, mtimeNs: 1_700_000_000_000_000_001n }, 'pax'))
  if (!x || !main) throw new Error('two headers expected')
  t.same(paxParse(x.data).map(([k, v]) => [k, v.toString()]), [['mtime', '1700000000.000000001']])
  t.equal(main.h.mtime, 1700000000n)
  t.equal(x.h.mtime, 1700000000n)
})

t.test('gnu: long names in L/K blocks, base-256 numbers', async t => {
  const longPath = Buffer.concat([Buffer.from('d'.repeat(250) + '/'), Buffer.from([0xff, 0x0a]), Buffer.alloc(100, 0x66)])
  const target = Buffer.alloc(500, 0x74)
  const out = encodeMember({
    ...base, type: 'symlink', size: 0, name: longPath, linkname: target,
    uid: 3_000_000, gid: 4_294_967_294, mtimeNs: -123_456_789_500_000_000n,
  }, 'gnu')
  const [k, l, main, ...rest] = members(out)
  t.equal(rest.length, 0)
  if (!k || !l || !main) throw new Error('three headers expected')
  for (const [blk, flag, bytes] of [[k, 'K', target], [l, 'L', longPath]] as const) {
    t.equal(blk.h.name.toString(), '././@LongLink')
    t.equal(blk.h.typeflag, flag)
    t.equal(blk.h.size, BigInt(bytes.length + 1), 'size counts the NUL')
    t.ok(blk.data.equals(Buffer.concat([bytes, Buffer.alloc(1)])))
    t.equal(blk.h.magic, 'ustar  \0')
  }
  t.ok(main.h.name.equals(longPath.subarray(0, 100)))
  t.ok(main.h.linkname.equals(target.subarray(0, 100)))
  t.equal(main.h.uid, 3_000_000n)
  t.equal(main.h.gid, 4_294_967_294n)
  t.equal(main.h.mtime, -123456790n, 'mtime rounded down to whole seconds')
  t.equal(out[512 * 4 + 108], 0x80, 'uid in base-256')
  t.equal(out[512 * 4 + 136], 0xff, 'negative mtime in base-256')
  for (const i of [0, 2, 4]) t.ok(checksumOk(out.subarray(i * 512, i * 512 + 512)), `checksum of header block ${i}`)

  const big = header(encodeMember({ ...base, size: 8 * 2 ** 30 }, 'gnu'))
  t.equal(big.size, 8n * 2n ** 30n)
  t.equal(encodeMember({ ...base, name: Buffer.alloc(100, 0x61) }, 'gnu').length, 512, '100 bytes fit without L')
})

t.test('ustar: refuses what it cannot hold, exactly', async t => {
  const cases: Array<[string, Partial<TarMember>, RegExp]> = [
    ['long path', { name: Buffer.from('a'.repeat(300)) }, /a name of 300 bytes/],
    ['unsplittable', { name: Buffer.from(`${'a'.repeat(10)}/${'b'.repeat(101)}`) }, /a name of 112 bytes/],
    ['long target', { type: 'symlink', size: 0, linkname: Buffer.alloc(101, 0x74) }, /link target of 101 bytes/],
    ['big uid', { uid: 0o10000000 }, /uid 2097152/],
    ['big gid', { gid: 0o10000000 }, /gid 2097152/],
    ['8 GiB', { size: 8 * 2 ** 30 }, /size of 8589934592/],
    ['before 1970', { mtimeNs: -1n }, /before 1970/],
    ['after 2242', { mtimeNs: 8n ** 11n * 1_000_000_000n }, /after 2242/],
    ['xattrs', { xattrs: [[Buffer.from('user.a'), Buffer.from('b')]] }, /extended attribute/],
    ['acl', { aclAccess: 'user::rw-' }, /ACLs/],
    ['long uname', { uname: 'u'.repeat(32) }, /user name/],
  ]
  for (const [label, over, re] of cases) {
    try {
      encodeMember({ ...base, ...over }, 'ustar')
      t.fail(`${label}: not refused`)
    } catch (e) {
      t.ok(e instanceof TarFormatError, `${label}: TarFormatError`)
      t.equal((e as TarFormatError).code, 'TARSHIFT_TAR_UNREPRESENTABLE')
      t.match((e as Error).message, re, label)
      t.match((e as Error).message, /--format pax/)
    }
  }
  const odd = Buffer.from([0x66, 0xff, 0x0a])
  t.ok(header(encodeMember({ ...base, name: odd }, 'ustar')).name.equals(odd), 'non-UTF-8 names go out raw')
  const split = header(encodeMember({ ...base, name: Buffer.from(`${'p'.repeat(155)}/${'n'.repeat(100)}`) }, 'ustar'))
  t.same([split.prefix.length, split.name.length], [155, 100])
  t.doesNotThrow(() => encodeMember({ ...base, mtimeNs: 1n, atimeNs: 5n }, 'ustar'), 'sub-second times are dropped')
})

t.test('what gnu and ustar drop is listed', async t => {
  const m: TarMember = { ...base, mtimeNs: 1n, atimeNs: 2n, xattrs: [[Buffer.from('user.a'), Buffer.from('b')]], aclAccess: 'u', uname: 'u'.repeat(40) }
  t.same(formatLosses(m, 'pax'), [])
  t.same(formatLosses(m, 'gnu'), ['sub-second mtime', 'atime', '1 extended attribute(s)', 'POSIX ACLs', 'user name cut to 31 bytes'])
  t.same(formatLosses(m, 'ustar'), ['sub-second mtime', 'atime'])
  t.same(formatLosses(base, 'gnu'), [])
})

t.test('members no tar format can describe are programming errors', async t => {
  const bad: Array<Partial<TarMember>> = [
    { name: Buffer.alloc(0) },
    { name: Buffer.from('/etc') },
    { name: Buffer.from([0x61, 0, 0x62]) },
    { mode: 0o10000 },
    { uid: -1 },
    { size: 1.5 },
    { type: 'dir', size: 3 },
    { type: 'symlink', size: 0 },
    { type: 'file', linkname: Buffer.from('x') },
    { xattrs: [[Buffer.alloc(0), Buffer.from('v')]] },
  ]
  for (const over of bad) t.throws(() => encodeMember({ ...base, ...over }, 'pax'), RangeError, JSON.stringify(over))
})

t.test('padding and end of archive', async t => {
  t.same([0, 1, 511, 512, 513, 8 * 2 ** 30 + 1].map(paddingFor), [0, 511, 1, 0, 511, 511])
  t.equal(END_OF_ARCHIVE.length, 1024)
  t.ok(END_OF_ARCHIVE.equals(Buffer.alloc(1024)))
})
