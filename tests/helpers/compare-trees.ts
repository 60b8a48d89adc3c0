// The one shared tree comparer (STYLE.md "Tests"): compares two snapshots field by field (type,
// mode, owner, size, content hash, link target, rdev, ns mtime, xattrs) and their hardlink
// structure, never inode numbers, and returns readable differences in path order.
// assertSameTree() is the tap form: it prints the first 20 differences on failure.
import { showPath } from './show-path.js'
import { snapshotTree, type NodeSnapshot } from './tree-snapshot.js'

export type CompareIgnore =
  | 'mtime' // every mtime
  | 'dirMtime' // mtimes of directories
  | 'symlinkMtime' // mtimes of symlinks
  | 'atime' // atimes are only compared with compareAtime; listed for symmetry
  | 'uid'
  | 'gid'
  | 'mode'
  | 'xattrs'
  | 'hardlinks' // hardlink structure
  | 'rootMode' // the root entry's mode
  | 'rootMtime'
  | 'rootOwner' // the root entry's uid and gid
  | 'rootXattrs'

export interface CompareOptions {
  ignore?: CompareIgnore[]
  /** mtimes (and atimes) are compared after truncating to this unit (floor); default 'ns'. */
  mtimePrecision?: 'ns' | 'us' | 'ms' | 's'
  /** Leave the root entry (path '') out entirely. */
  skipRoot?: boolean
  /** Also compare atimes, of entries other than dirs and symlinks (whose atimes any reader
   *  changes): e.g. to check that a save left the source files' atimes alone. */
  compareAtime?: boolean
  /** Names of the two sides in messages; default ['a', 'b']. */
  labels?: [string, string]
}

const NS = 1_000_000_000n
const UNIT = { ns: 1n, us: 1000n, ms: 1_000_000n, s: NS } as const

function floorDiv(x: bigint, d: bigint): bigint {
  const q = x / d
  return x % d !== 0n && x < 0n ? q - 1n : q
}

/** 2100-01-01T00:00:00.123456789Z; exact for any ns value, before 1970 too. */
export function showNs(ns: bigint): string {
  const sec = floorDiv(ns, NS)
  const frac = (ns - sec * NS).toString().padStart(9, '0')
  const date = new Date(Number(sec) * 1000)
  return Number.isNaN(date.getTime()) ? `${sec}.${frac}s` : `${date.toISOString().slice(0, -5)}.${frac}Z`
}

function where(p: Buffer): string {
  return p.length === 0 ? '. (root)' : showPath(p)
}

function showMode(m: number): string {
  return m.toString(8).padStart(4, '0')
}

/** Groups of paths (bytes) sharing an inode among non-directories whose paths are in `keep`. */
function linkGroups(snap: NodeSnapshot[], keep: Set<string>): Map<string, string> {
  const byIno = new Map<bigint, string[]>()
  for (const n of snap) {
    const key = n.path.toString('hex')
    if (n.type === 'dir' || !keep.has(key)) continue
    const group = byIno.get(n.ino)
    if (group) group.push(key)
    else byIno.set(n.ino, [key])
  }
  // path hex → canonical group id (the sorted member list), for groups of 2 or more.
  const groupOf = new Map<string, string>()
  for (const members of byIno.values()) {
    if (members.length < 2) continue
    const id = members.sort().join(',')
    for (const m of members) groupOf.set(m, id)
  }
  return groupOf
}

function showGroup(id: string): string {
  return '{' + id.split(',').map(h => where(Buffer.from(h, 'hex'))).join(', ') + '}'
}

/**
 * Differences between snapshots `a` and `b`, each a readable line such as
 * "dir/f: mode a=0644 b=0600"; [] when the trees are equal. Entries are matched by path;
 * differences come in path order, then hardlink-structure differences.
 */
export function compareTrees(a: NodeSnapshot[], b: NodeSnapshot[], opts: CompareOptions = {}): string[] {
  const ign = new Set(opts.ignore ?? [])
  const unit = UNIT[opts.mtimePrecision ?? 'ns']
  const [la, lb] = opts.labels ?? ['a', 'b']
  const out: string[] = []
  const keep = (n: NodeSnapshot): boolean => !(opts.skipRoot && n.path.length === 0)
  const as = a.filter(keep).sort((x, y) => Buffer.compare(x.path, y.path))
  const bs = b.filter(keep).sort((x, y) => Buffer.compare(x.path, y.path))
  const common = new Set<string>()

  const diff = (x: NodeSnapshot, field: string, va: string, vb: string): void => {
    if (va !== vb) out.push(`${where(x.path)}: ${field} ${la}=${va} ${lb}=${vb}`)
  }

  const compareNode = (x: NodeSnapshot, y: NodeSnapshot): void => {
    const root = x.path.length === 0
    if (x.type !== y.type) {
      out.push(`${where(x.path)}: type ${la}=${x.type} ${lb}=${y.type}`)
      return
    }
    if (!ign.has('mode') && !(root && ign.has('rootMode'))) diff(x, 'mode', showMode(x.mode), showMode(y.mode))
    if (!(root && ign.has('rootOwner'))) {
      if (!ign.has('uid')) diff(x, 'uid', String(x.uid), String(y.uid))
      if (!ign.has('gid')) diff(x, 'gid', String(x.gid), String(y.gid))
    }
    if (x.type === 'file') {
      diff(x, 'size', String(x.size), String(y.size))
      diff(x, 'sha256', x.sha256 ?? '-', y.sha256 ?? '-')
    }
    if (x.type === 'symlink') diff(x, 'target', showPath(x.target ?? Buffer.alloc(0)), showPath(y.target ?? Buffer.alloc(0)))
    if (x.type === 'chardev' || x.type === 'blockdev') {
      diff(x, 'rdev', `${x.rdevMajor},${x.rdevMinor}`, `${y.rdevMajor},${y.rdevMinor}`)
    }
    const skipMtime =
      ign.has('mtime') ||
      (x.type === 'dir' && ign.has('dirMtime')) ||
      (x.type === 'symlink' && ign.has('symlinkMtime')) ||
      (root && ign.has('rootMtime'))
    if (!skipMtime && floorDiv(x.mtimeNs, unit) !== floorDiv(y.mtimeNs, unit)) {
      out.push(`${where(x.path)}: mtime ${la}=${showNs(x.mtimeNs)} ${lb}=${showNs(y.mtimeNs)}`)
    }
    if (opts.compareAtime && !ign.has('atime') && x.type !== 'dir' && x.type !== 'symlink' && floorDiv(x.atimeNs, unit) !== floorDiv(y.atimeNs, unit)) {
      out.push(`${where(x.path)}: atime ${la}=${showNs(x.atimeNs)} ${lb}=${showNs(y.atimeNs)}`)
    }
    if (!ign.has('xattrs') && !(root && ign.has('rootXattrs'))) {
      const xa = new Map(x.xattrs)
      const xb = new Map(y.xattrs)
      for (const name of [...new Set([...xa.keys(), ...xb.keys()])].sort()) {
        diff(x, `xattr ${name}`, xa.get(name) ?? '(none)', xb.get(name) ?? '(none)')
      }
    }
  }

  let i = 0
  let j = 0
  while (i < as.length || j < bs.length) {
    const x = as[i]
    const y = bs[j]
    const c = x === undefined ? 1 : y === undefined ? -1 : Buffer.compare(x.path, y.path)
    if (c < 0 && x) {
      out.push(`${where(x.path)}: only in ${la} (${x.type})`)
      i++
    } else if (c > 0 && y) {
      out.push(`${where(y.path)}: only in ${lb} (${y.type})`)
      j++
    } else if (x && y) {
      common.add(x.path.toString('hex'))
      compareNode(x, y)
      i++
      j++
    }
  }

  if (!ign.has('hardlinks')) {
    // Only paths present on both sides count, so a missing file is reported once, above.
    const ga = linkGroups(as, common)
    const gb = linkGroups(bs, common)
    const report = (from: Map<string, string>, other: Map<string, string>, lf: string, lo: string): void => {
      for (const id of new Set(from.values())) {
        const members = id.split(',')
        const inOther = new Set(members.map(m => other.get(m) ?? m))
        if (inOther.size === 1 && other.get(members[0] as string) === id) continue
        const parts = [...inOther].map(g => (g.includes(',') ? showGroup(g) : `${where(Buffer.from(g, 'hex'))} unlinked`))
        out.push(`hardlinks: ${lf} links ${showGroup(id)}; ${lo} has ${parts.join(', ')}`)
      }
    }
    report(ga, gb, la, lb)
    report(gb, ga, lb, la)
  }
  return out
}

/** The subset of a tap Test that assertSameTree uses. */
export interface TapLike {
  pass(message: string): unknown
  fail(message: string, extra: { [k: string]: unknown }): unknown
}

/**
 * Snapshots (unless given snapshots) and compares `a` (expected) with `b` (actual); one passing
 * or failing assertion. On failure the message names the first difference and the diagnostics
 * list the first 20.
 * Returns the differences.
 */
export function assertSameTree(
  t: TapLike,
  a: Buffer | string | NodeSnapshot[],
  b: Buffer | string | NodeSnapshot[],
  opts: CompareOptions = {},
  message = 'trees are the same',
): string[] {
  const sa = Array.isArray(a) ? a : snapshotTree(a)
  const sb = Array.isArray(b) ? b : snapshotTree(b)
  const diffs = compareTrees(sa, sb, opts)
  if (diffs.length === 0) {
    t.pass(message)
  } else {
    // tap prints the message on one line and the differences as YAML diagnostics; the stack
    // makes it point at the caller's line rather than at this helper.
    const here: { stack?: string } = {}
    Error.captureStackTrace(here, assertSameTree)
    t.fail(`${message}: ${diffs.length} difference(s), first: ${diffs[0]}`, {
      differences: diffs.slice(0, 20),
      total: diffs.length,
      stack: here.stack?.split('\n').slice(1).join('\n'),
    })
  }
  return diffs
}
