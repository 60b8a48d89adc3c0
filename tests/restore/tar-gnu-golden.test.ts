// Golden bytes from GNU tar itself: GNU tar 1.34 archives real files in gnu and ustar format,
// and the encoder, given the same metadata, must write the very same header blocks (long-name
// blocks, base-256 numbers, prefix split, checksum). pax is not compared: GNU tar adds
// atime/ctime records there that a restore has no reason to write.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, linkSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync, type BigIntStats } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeMember, paddingFor, type TarFormat, type TarMember, type TarType } from '../../lib/restore/tar-header.js'
import { native } from '../../lib/fs/native.js'

const isRoot = process.getuid?.() === 0
const B = (s: string) => Buffer.from(s)
const NON_UTF8 = Buffer.from([0x66, 0xff, 0xfe, 0x0a])

/** Each fixture: its name, how to make it, and which formats GNU tar can write it in. */
interface Fixture { name: Buffer; make: (p: Buffer) => void; mtime: number; formats: TarFormat[] }

const run = (cmd: string, ...args: string[]) => {
  const r = spawnSync(cmd, args)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`)
}

function fixtures(): Fixture[] {
  const both: TarFormat[] = ['gnu', 'ustar']
  const fx: Fixture[] = [
    { name: B('file'), make: p => { writeFileSync(p, 'hello'); chmodSync(p, 0o640) }, mtime: 1_700_000_000, formats: both },
    { name: B('hl'), make: p => linkSync(Buffer.concat([p.subarray(0, p.length - 2), B('file')]), p), mtime: 1_700_000_000, formats: both },
    { name: B('setuid'), make: p => { writeFileSync(p, ''); chmodSync(p, 0o4755) }, mtime: 1_234_567_890, formats: both },
    { name: B('dir'), make: p => { mkdirSync(p); chmodSync(p, 0o1777) }, mtime: 1_600_000_000, formats: both },
    { name: B('sym'), make: p => { symlinkSync('target/of/link', p) }, mtime: 1_500_000_000, formats: both },
    { name: B('fifo'), make: p => { run('mkfifo', '-m', '600', p.toString()) }, mtime: 1_400_000_000, formats: both },
    { name: NON_UTF8, make: p => { writeFileSync(p, 'odd') }, mtime: 1_700_000_001, formats: both },
    { name: B('n'.repeat(150)), make: p => { writeFileSync(p, 'long') }, mtime: 1_700_000_002, formats: ['gnu'] },
    { name: B('longsym'), make: p => { symlinkSync('x/'.repeat(250), p) }, mtime: 1_500_000_000, formats: ['gnu'] },
    { name: B('old'), make: p => { writeFileSync(p, '') }, mtime: -123_456_790, formats: ['gnu'] },
    { name: B('p'.repeat(77)), make: p => { mkdirSync(p) }, mtime: 1_600_000_000, formats: both },
    { name: B(`${'p'.repeat(77)}/${'q'.repeat(77)}`), make: p => { mkdirSync(p) }, mtime: 1_600_000_000, formats: both },
    { name: B(`${'p'.repeat(77)}/${'q'.repeat(77)}/${'n'.repeat(100)}`), make: p => { writeFileSync(p, 'split') }, mtime: 1_600_000_000, formats: both },
  ]
  if (isRoot) {
    fx.push({ name: B('cdev'), make: p => { run('mknod', '-m', '620', p.toString(), 'c', '259', '70000') }, mtime: 1_300_000_000, formats: both })
    fx.push({ name: B('bdev'), make: p => { run('mknod', '-m', '660', p.toString(), 'b', '7', '3') }, mtime: 1_300_000_000, formats: both })
    fx.push({ name: B('bigid'), make: p => { writeFileSync(p, ''); chownSync(p, 3_000_000, 3_000_001) }, mtime: 1_700_000_000, formats: ['gnu'] })
  }
  return fx
}

function typeOf(st: BigIntStats): TarType {
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice()) return 'chardev'
  if (st.isBlockDevice()) return 'blockdev'
  return 'file'
}

/** What the restore would hand the encoder for this file (glibc's major/minor split of rdev). */
function memberOf(src: Buffer, name: Buffer, seen: Map<bigint, Buffer>): TarMember {
  const p = Buffer.concat([src, B('/'), name])
  const st = lstatSync(p, { bigint: true })
  const first = st.nlink > 1n && !st.isDirectory() ? seen.get(st.ino) : undefined
  if (st.nlink > 1n && !first) seen.set(st.ino, name)
  const type = first ? 'hardlink' : typeOf(st)
  const m: TarMember = {
    name, type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
    uname: native.getpwuid(Number(st.uid)) ?? '', gname: native.getgrgid(Number(st.gid)) ?? '',
    size: type === 'file' ? Number(st.size) : 0, mtimeNs: st.mtimeNs,
  }
  if (first) m.linkname = first
  if (type === 'symlink') m.linkname = readlinkSync(p, { encoding: 'buffer' })
  if (type === 'chardev' || type === 'blockdev') {
    m.devmajor = Number(((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn))
    m.devminor = Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn))
  }
  return m
}

/** GNU tar's archive cut into members: the header blocks of each (long-name blocks included), no data. */
function headerGroups(archive: Buffer): Buffer[] {
  const groups: Buffer[] = []
  let start = 0
  let off = 0
  while (off + 512 <= archive.length) {
    const h = archive.subarray(off, off + 512)
    if (h.equals(Buffer.alloc(512))) break
    const flag = String.fromCharCode(h[156] as number)
    const size = Number('0o' + (h.subarray(124, 135).toString('latin1').replace(/\0.*$/, '') || '0'))
    off += 512
    if (flag === 'L' || flag === 'K') {
      off += size + paddingFor(size)
      continue
    }
    groups.push(archive.subarray(start, off))
    if (flag === '0') off += size + paddingFor(size)
    start = off
  }
  return groups
}

t.test('the encoder writes the header bytes GNU tar writes (gnu and ustar formats)', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tarshift-golden-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const src = B(join(dir, 'src'))
  mkdirSync(src)
  const fx = fixtures()
  for (const f of fx) f.make(Buffer.concat([src, B('/'), f.name]))
  // Times last: making a directory's children changes its mtime.
  for (const f of fx) lutimesSync(Buffer.concat([src, B('/'), f.name]), f.mtime, f.mtime)

  for (const format of ['gnu', 'ustar'] as const) {
    const names = fx.filter(f => f.formats.includes(format)).map(f => f.name)
    const list = join(dir, `list-${format}`)
    writeFileSync(list, Buffer.concat(names.flatMap(n => [n, Buffer.alloc(1)])))
    const r = spawnSync('tar', [`--format=${format}`, '-cf', '-', '--no-recursion', '--null', '-T', list], { cwd: src.toString(), maxBuffer: 1 << 24, env: { ...process.env, LC_ALL: 'C' } })
    t.equal(r.status, 0, `GNU tar --format=${format} exits 0 ${r.stderr.toString()}`)
    const groups = headerGroups(r.stdout)
    t.equal(groups.length, names.length, `${format}: one member per name`)
    const seen = new Map<bigint, Buffer>()
    names.forEach((name, i) => {
      const ours = encodeMember(memberOf(src, name, seen), format)
      const gnus = groups[i] ?? Buffer.alloc(0)
      t.equal(ours.toString('hex'), gnus.toString('hex'), `${format} ${JSON.stringify(name.toString('latin1')).slice(0, 40)}`)
    })
  }
})
