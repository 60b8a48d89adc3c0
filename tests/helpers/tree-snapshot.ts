// Snapshots a directory tree into plain records (one per entry, the root included as path '')
// for compare-trees.ts: everything save/restore must preserve, plus ino/nlink/atime for checks
// about the source itself. Names are read as bytes; files are hashed with O_NOATIME where the
// kernel allows it (we run as root), so snapshotting a tree leaves its files' atimes alone.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { native } from '../../lib/fs/native.js'
import { showPath } from './show-path.js'

export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket'

export interface NodeSnapshot {
  /** Relative to the snapshot root, '/'-joined bytes; the root itself is the empty buffer. */
  path: Buffer
  type: NodeType
  /** The 07777 bits. */
  mode: number
  uid: number
  gid: number
  size: number
  mtimeNs: bigint
  /** Compared only with CompareOptions.compareAtime, and only for entries that are not dirs or
   *  symlinks: listing a directory and reading a link update their atimes, snapshotting too. */
  atimeNs: bigint
  /** Regular files only. */
  sha256?: string
  /** Symlinks only. */
  target?: Buffer
  /** Char and block devices only. */
  rdevMajor?: number
  rdevMinor?: number
  /** [name (escaped like a path), value as hex], sorted by name. */
  xattrs: Array<[string, string]>
  ino: bigint
  nlink: number
}

const S_IFMT = 0o170000n
const TYPES: Record<string, NodeType> = {
  [0o100000]: 'file',
  [0o040000]: 'dir',
  [0o120000]: 'symlink',
  [0o010000]: 'fifo',
  [0o020000]: 'chardev',
  [0o060000]: 'blockdev',
  [0o140000]: 'socket',
}

/** Linux dev_t → (major, minor), the glibc gnu_dev_major/minor encoding. */
export function splitRdev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev & 0xfff00n) >> 8n) | ((rdev & 0xfffff00000000000n) >> 32n)
  const minor = (rdev & 0xffn) | ((rdev & 0xffffff00000n) >> 12n)
  return { major: Number(major), minor: Number(minor) }
}

let noAtimeAllowed = true

function openForHash(p: Buffer): number {
  if (noAtimeAllowed) {
    try {
      return fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOATIME)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err
      noAtimeAllowed = false
    }
  }
  return fs.openSync(p, fs.constants.O_RDONLY)
}

export function sha256File(p: Buffer | string): string {
  const hash = createHash('sha256')
  const fd = openForHash(Buffer.isBuffer(p) ? p : Buffer.from(p))
  try {
    const buf = Buffer.allocUnsafe(1 << 20)
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      hash.update(buf.subarray(0, n))
    }
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

function snapshotOne(abs: Buffer, rel: Buffer): NodeSnapshot {
  const st = fs.lstatSync(abs, { bigint: true })
  const type = TYPES[Number(st.mode & S_IFMT)]
  if (type === undefined) throw new Error(`snapshotTree: unknown file type ${st.mode.toString(8)} at ${showPath(abs)}`)
  const snap: NodeSnapshot = {
    path: rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    xattrs: native
      .lgetxattrs(abs)
      .map(([name, value]): [Buffer, string] => [name, value.toString('hex')])
      .sort((x, y) => Buffer.compare(x[0], y[0]))
      .map(([name, value]): [string, string] => [showPath(name), value]),
    ino: st.ino,
    nlink: Number(st.nlink),
  }
  if (type === 'file') snap.sha256 = sha256File(abs)
  else if (type === 'symlink') snap.target = fs.readlinkSync(abs, { encoding: 'buffer' })
  else if (type === 'chardev' || type === 'blockdev') {
    const { major, minor } = splitRdev(st.rdev)
    snap.rdevMajor = major
    snap.rdevMinor = minor
  }
  return snap
}

/**
 * Every entry under `root` (root first as path ''), sorted by path bytes. Symlinks are not
 * followed, the root included: pass a real directory.
 */
export function snapshotTree(root: Buffer | string): NodeSnapshot[] {
  const rootBuf = Buffer.isBuffer(root) ? root : Buffer.from(root)
  const out: NodeSnapshot[] = []
  const walk = (abs: Buffer, rel: Buffer): void => {
    const snap = snapshotOne(abs, rel)
    out.push(snap)
    if (snap.type !== 'dir') return
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const slash = Buffer.from('/')
      walk(Buffer.concat([abs, slash, name]), rel.length === 0 ? name : Buffer.concat([rel, slash, name]))
    }
  }
  walk(rootBuf, Buffer.alloc(0))
  return out.sort((x, y) => Buffer.compare(x.path, y.path))
}

/** The entry at a '/'-separated relative path (string or bytes), or undefined. */
export function findNode(snap: NodeSnapshot[], rel: Buffer | string): NodeSnapshot | undefined {
  const want = Buffer.isBuffer(rel) ? rel : Buffer.from(rel)
  return snap.find(n => n.path.equals(want))
}

/**
 * Non-directory entries sharing an inode, as groups of showPath-escaped relative paths: each group
 * sorted by path bytes, groups sorted by their first path; only groups of more than one path.
 * (One snapshot is one tree, so the inode number alone identifies a file within it; mount points
 * inside a snapshotted tree are not expected.)
 */
export function hardlinkGroups(snap: NodeSnapshot[]): string[][] {
  const byIno = new Map<bigint, Buffer[]>()
  for (const n of snap) {
    if (n.type === 'dir') continue
    const group = byIno.get(n.ino)
    if (group) group.push(n.path)
    else byIno.set(n.ino, [n.path])
  }
  return [...byIno.values()]
    .filter(g => g.length > 1)
    .map(g => g.sort(Buffer.compare))
    .sort((x, y) => Buffer.compare(x[0] as Buffer, y[0] as Buffer))
    .map(g => g.map(showPath))
}
