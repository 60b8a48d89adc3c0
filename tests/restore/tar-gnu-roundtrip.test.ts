// Round trips through real GNU tar: archives assembled from encodeMember + data + padding +
// END_OF_ARCHIVE are listed (tar -tvf) and extracted (tar -xpf) and the result is compared
// byte for byte: names, link targets, modes, owners, ns mtimes, device numbers, xattrs.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeMember, paddingFor, END_OF_ARCHIVE, type TarFormat, type TarMember } from '../../lib/restore/tar-header.js'
import { native } from '../../lib/fs/native.js'

const isRoot = process.getuid?.() === 0

interface Entry { m: TarMember; data?: Buffer }

function archive(entries: Entry[], format: TarFormat): Buffer {
  const parts: Buffer[] = []
  for (const { m, data } of entries) {
    parts.push(encodeMember(m, format))
    if (data) parts.push(data, Buffer.alloc(paddingFor(data.length)))
  }
  parts.push(END_OF_ARCHIVE)
  return Buffer.concat(parts)
}

function tar(args: string[], locale = 'C'): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('tar', args, { env: { ...process.env, LC_ALL: locale } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}

/** Linux's makedev (glibc layout). */
function makedev(major: number, minor: number): bigint {
  const M = BigInt(major)
  const m = BigInt(minor)
  return (m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n)
}

const B = (s: string) => Buffer.from(s)
const cat = (...parts: Array<string | number[]>) => Buffer.concat(parts.map(p => typeof p === 'string' ? B(p) : Buffer.from(p)))

const NON_UTF8 = Buffer.from([0x66, 0xff, 0xfe])
const LONG_DIR = 'a'.repeat(250) // a 250-byte component
const LONG_FILE = `${LONG_DIR}/${'b'.repeat(100)}` // 351 bytes
const ODD_DIR = cat([0xc3, 0x28], '-dir') // invalid UTF-8 directory
const TARGET_500 = B('x/'.repeat(250))

function file(name: Buffer, data: string | Buffer, over: Partial<TarMember> = {}): Entry {
  const d = typeof data === 'string' ? B(data) : data
  return {
    m: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', size: d.length, mtimeNs: 1_700_000_000_123_456_789n, ...over },
    data: d,
  }
}

function other(name: Buffer, type: TarMember['type'], over: Partial<TarMember> = {}): Entry {
  return { m: { name, type, mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 0, mtimeNs: 1_600_000_000_987_654_321n, ...over } }
}

/** The members every format can carry (given its own name rules); devices and owners need root. */
function commonEntries(): Entry[] {
  const owner = isRoot ? { uid: 3_000_000, gid: 3_000_001 } : {}
  const e: Entry[] = [
    file(B('plain'), 'hello\n', { mode: 0o4755, ...owner }),
    file(NON_UTF8, 'non-utf8'),
    file(B('new\nline'), 'newline'),
    file(B('café'), 'utf8'),
    other(B('sticky'), 'dir', { mode: 0o1777 }),
    file(B('sticky/zero'), '', { mode: 0 }),
    file(B('old'), 'before 1970', { mtimeNs: -123_456_789_500_000_000n }),
    file(B('neghalf'), 'half a second before 1970', { mtimeNs: -500_000_000n }),
    file(B('future'), 'after 2038', { mtimeNs: 4_102_444_800_123_456_789n }),
    other(B('hl'), 'hardlink', { linkname: B('plain'), mode: 0o4755, ...owner }),
    other(cat('hl-', [0xff]), 'hardlink', { linkname: NON_UTF8, mode: 0o644 }),
    other(B('odd-link'), 'symlink', { linkname: Buffer.from([0xfe, 0x0a, 0x41]), mode: 0o777 }),
    other(B('fifo'), 'fifo', { mode: 0o600 }),
  ]
  if (isRoot) {
    e.push(other(B('cdev'), 'chardev', { mode: 0o620, devmajor: 259, devminor: 70000 }))
    e.push(other(B('bdev'), 'blockdev', { mode: 0o660, devmajor: 7, devminor: 0 }))
  }
  return e
}

/** Members that need pax or gnu: long names and link targets. */
function longEntries(): Entry[] {
  return [
    other(B(LONG_DIR), 'dir', { mode: 0o750 }),
    file(B(LONG_FILE), 'long path'),
    other(ODD_DIR, 'dir'),
    file(Buffer.concat([ODD_DIR, B('/'), Buffer.alloc(120, 0xe9)]), 'latin-1 long name'),
    other(B('long-link'), 'symlink', { linkname: TARGET_500, mode: 0o777 }),
    other(B('hl-long'), 'hardlink', { linkname: B(LONG_FILE), mode: 0o644 }),
  ]
}

function withXattrs(): Entry {
  return file(B('xa'), 'xattrs', {
    xattrs: [
      [B('user.bin'), Buffer.from([0, 255, 10, 61])],
      [B('user.a=b%c'), B('escaped name')],
      [cat('user.', [0xff]), Buffer.alloc(0)],
    ],
  })
}

function withAcls(): Entry[] {
  return [
    file(B('acl-file'), 'acl', { mode: 0o660, // group bits = the ACL mask, as on a real file
      aclAccess: 'user::rw-,user:4242:r--,group::r--,group:4343:rw-,mask::rw-,other::---' }),
    other(B('acl-dir'), 'dir', { mode: 0o750, aclDefault: 'user::rwx\nuser:4242:rwx\ngroup::r-x\nmask::rwx\nother::---\n' }),
  ]
}

/** A system.posix_acl_* xattr as "tag:id:perm" lines (kernel format: version 2, then tag u16, perm u16, id u32). */
function aclText(x: Buffer | undefined): string[] {
  if (!x) return []
  const tags: Record<number, string> = { 1: 'user', 2: 'user', 4: 'group', 8: 'group', 0x10: 'mask', 0x20: 'other' }
  const out: string[] = []
  for (let off = 4; off + 8 <= x.length; off += 8) {
    const tag = x.readUInt16LE(off)
    const perm = x.readUInt16LE(off + 2)
    const id = tag === 2 || tag === 8 ? String(x.readUInt32LE(off + 4)) : ''
    out.push(`${tags[tag] ?? tag}:${id}:${perm & 4 ? 'r' : '-'}${perm & 2 ? 'w' : '-'}${perm & 1 ? 'x' : '-'}`)
  }
  return out
}

/** Extract and compare every member; mtimes are compared after `keepNs` (drop sub-second for gnu/ustar). */
function checkTree(t: Test, out: Buffer, entries: Entry[], keepNs: (ns: bigint) => bigint, xattrs: boolean): void {
  const at = (name: Buffer) => Buffer.concat([out, B('/'), name])
  const inodes = new Map<string, bigint>()
  for (const { m, data } of entries) {
    const p = at(m.name)
    const label = JSON.stringify(m.name.toString('latin1')).slice(0, 60)
    const st = lstatSync(p, { bigint: true })
    const kind = { file: st.isFile(), hardlink: st.isFile(), dir: st.isDirectory(), symlink: st.isSymbolicLink(), fifo: st.isFIFO(), chardev: st.isCharacterDevice(), blockdev: st.isBlockDevice() }[m.type]
    t.ok(kind, `${label}: is a ${m.type}`)
    if (m.type !== 'symlink') t.equal(Number(st.mode & 0o7777n), m.mode, `${label}: mode ${m.mode.toString(8)}`)
    if (isRoot) t.same([st.uid, st.gid], [BigInt(m.uid), BigInt(m.gid)], `${label}: owner`)
    if (m.type !== 'hardlink') t.equal(st.mtimeNs, keepNs(m.mtimeNs), `${label}: mtime`)
    if (m.type === 'file') {
      t.ok(readFileSync(p).equals(data ?? Buffer.alloc(0)), `${label}: content`)
      inodes.set(m.name.toString('hex'), st.ino)
    }
    if (m.type === 'hardlink') t.equal(st.ino, inodes.get(m.linkname?.toString('hex') ?? ''), `${label}: same inode as its target`)
    if (m.type === 'symlink') t.ok(readlinkSync(p, { encoding: 'buffer' }).equals(m.linkname ?? B('')), `${label}: target bytes`)
    if (m.type === 'chardev' || m.type === 'blockdev') t.equal(st.rdev, makedev(m.devmajor ?? 0, m.devminor ?? 0), `${label}: rdev`)
    if (xattrs && m.type === 'file') {
      const got = native.lgetxattrs(p).filter(([n]) => n.subarray(0, 5).equals(B('user.')))
      const want = m.xattrs ?? []
      t.same(got.map(([n, v]) => [n.toString('hex'), v.toString('hex')]).sort(), want.map(([n, v]) => [n.toString('hex'), v.toString('hex')]).sort(), `${label}: xattrs`)
    }
  }
}

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tarshift-tar-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function extract(t: Test, tarFile: string, dir: string, locale: string, extra: string[] = []): Buffer {
  const out = join(dir, `out-${locale}`)
  mkdirSync(out)
  const r = tar(['--xattrs', '--xattrs-include=*', '--numeric-owner', ...extra, '-xpf', tarFile, '-C', out], locale)
  t.equal(r.status, 0, `tar -x exits 0 (${locale})`)
  // GNU tar 1.34 warns (exit 0) about: hdrcharset (it does not know the keyword, but keeps the raw
  // bytes anyway), and time stamps before 1970 or in the future. Nothing else may appear.
  const unexpected = r.stderr.split('\n').filter(l => l !== '' &&
    !/Ignoring unknown extended header keyword 'hdrcharset'|implausibly old time stamp|in the future/.test(l))
  t.same(unexpected, [], 'no unexpected messages from tar -x')
  return B(out)
}

const exact = (ns: bigint) => ns
const wholeSeconds = (ns: bigint) => (ns >= 0n || ns % 1_000_000_000n === 0n ? ns / 1_000_000_000n : ns / 1_000_000_000n - 1n) * 1_000_000_000n

t.test('pax: GNU tar lists and extracts everything byte-exact, ns mtimes included', async t => {
  const dir = tmp(t)
  const entries = [...commonEntries(), ...longEntries(), withXattrs(), ...withAcls()]
  const tarFile = join(dir, 'a.tar')
  writeFileSync(tarFile, archive(entries, 'pax'))

  const list = tar(['-tvf', tarFile, '--numeric-owner'])
  t.equal(list.status, 0, 'tar -tv exits 0')
  const lines = list.stdout.toString('latin1').split('\n').filter(l => l !== '')
  t.equal(lines.length, entries.length, 'one listing line per member (a newline in a name is escaped)')
  t.ok(lines.some(l => l.endsWith(' f\\377\\376')), 'non-UTF-8 name listed with GNU escapes')
  t.ok(lines.some(l => l.endsWith(' new\\nline')), 'newline escaped')
  if (isRoot) t.ok(lines.some(l => / 3000000\/3000001 .* plain$/.test(l)), 'big uid/gid from pax records')
  t.ok(lines.some(l => l.includes(` long-link -> ${TARGET_500.toString()}`)), '500-byte link target')
  t.ok(lines.some(l => l.includes(` hl-long link to ${LONG_FILE}`)), 'hardlink to a 351-byte name')

  for (const locale of ['C', 'C.UTF-8']) {
    const out = extract(t, tarFile, dir, locale, ['--acls'])
    t.same(readdirSync(out, { encoding: 'buffer' }).map(n => n.toString('hex')).sort(),
      [...new Set(entries.map(e => e.m.name.subarray(0, e.m.name.includes(0x2f) ? e.m.name.indexOf(0x2f) : undefined).toString('hex')))].sort(),
      `top-level names, byte-exact (${locale})`)
    checkTree(t, out, entries, exact, true)
    const acl = (name: string, kind: string) =>
      aclText(native.lgetxattrs(B(`${out.toString()}/${name}`)).find(([n]) => n.toString() === `system.posix_acl_${kind}`)?.[1])
    t.same(acl('acl-file', 'access'), ['user::rw-', 'user:4242:r--', 'group::r--', 'group:4343:rw-', 'mask::rw-', 'other::---'], 'SCHILY.acl.access restored (tar --acls)')
    t.same(acl('acl-dir', 'default'), ['user::rwx', 'user:4242:rwx', 'group::r-x', 'mask::rwx', 'other::---'], 'SCHILY.acl.default restored')
  }
})

t.test('pax: sizes over 8 GiB travel in a size record', async t => {
  const dir = tmp(t)
  for (const format of ['pax', 'gnu'] as const) {
    const tarFile = join(dir, `big-${format}.tar`)
    // Header only: tar -tv prints the member before it finds the data missing.
    writeFileSync(tarFile, encodeMember(file(B('big'), '', { size: 8 * 2 ** 30 + 1 }).m, format))
    const r = tar(['-tvf', tarFile])
    t.match(r.stdout.toString(), / 8589934593 .* big\n/, `${format}: tar -tv shows the size`)
  }
})

t.test('gnu: long names in L/K blocks and base-256 numbers round-trip; sub-second time is dropped', async t => {
  const dir = tmp(t)
  const entries = [...commonEntries(), ...longEntries()]
  const tarFile = join(dir, 'a.tar')
  writeFileSync(tarFile, archive(entries, 'gnu'))
  const list = tar(['-tvf', tarFile, '--numeric-owner'])
  t.equal(list.status, 0, 'tar -tv exits 0')
  t.equal(list.stdout.toString('latin1').split('\n').filter(l => l !== '').length, entries.length)
  const out = extract(t, tarFile, dir, 'C')
  checkTree(t, out, entries, wholeSeconds, false)
})

t.test('ustar: what it holds round-trips; what it cannot is refused before anything is written', async t => {
  const dir = tmp(t)
  const entries = [
    ...commonEntries().filter(e => e.m.name.toString() !== 'old' && e.m.name.toString() !== 'neghalf')
      .map(e => e.m.uid > 0o7777777 ? { ...e, m: { ...e.m, uid: 1000, gid: 100 } } : e),
    other(B('p'.repeat(77)), 'dir'),
    other(B(`${'p'.repeat(77)}/${'q'.repeat(77)}`), 'dir'),
    file(B(`${'p'.repeat(77)}/${'q'.repeat(77)}/${'n'.repeat(100)}`), 'a 256-byte name: 155 + / + 100'),
  ]
  const tarFile = join(dir, 'a.tar')
  writeFileSync(tarFile, archive(entries, 'ustar'))
  const out = extract(t, tarFile, dir, 'C')
  checkTree(t, out, entries, wholeSeconds, false)

  for (const e of [...longEntries().filter(e => !e.m.name.equals(ODD_DIR)), withXattrs(), file(B('old'), '', { mtimeNs: -1n }), file(B('u'), '', { uid: 3_000_000 })]) {
    t.throws(() => encodeMember(e.m, 'ustar'), { code: 'TARSHIFT_TAR_UNREPRESENTABLE' }, `refused: ${e.m.name.toString('latin1').slice(0, 30)}`)
  }
})
