// Builds fixture trees from a plain object at run time: git stores no devices, fifos, hardlinks,
// xattrs, owners, odd names or nanosecond times, so every test that needs a real tree makes one.
// Paths are Buffers end to end (Linux names are bytes). fullFixture() is the "everything" tree
// that save/restore tests round-trip; seededBytes() makes deterministic file contents.
//
// Temp dirs: tmpDir(prefix) makes a dir under os.tmpdir() and removes it when the process exits
// (set TARSHIFT_KEEP_TMP=1 to keep them for debugging); tmpDirFor(t, prefix) removes it in the
// tap test's teardown instead. tap's t.testdir() is not used: it writes into the project tree.
import { execFileSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { native } from '../../lib/fs/native.js'

export type FixtureNode =
  | {
      type: 'file'
      content?: Buffer | string
      /** With `seed`: deterministic pseudo-random content of this many bytes (seededBytes). */
      size?: number
      seed?: number
      mode?: number
      mtimeNs?: bigint
      uid?: number
      gid?: number
      xattrs?: Record<string, Buffer | string>
    }
  | {
      type: 'dir'
      /** A Record for UTF-8 names (note: JS puts integer-like keys first), an array for byte names. */
      children: Record<string, FixtureNode> | Array<[Buffer, FixtureNode]>
      mode?: number
      mtimeNs?: bigint
      uid?: number
      gid?: number
      xattrs?: Record<string, Buffer | string>
    }
  | { type: 'symlink'; target: Buffer | string; mtimeNs?: bigint; uid?: number; gid?: number }
  /** `to`: '/'-separated path relative to the fixture root of a file created by the same spec.
   *  Hardlinks are made after every other node, so spec order does not matter. */
  | { type: 'hardlink'; to: string }
  | { type: 'fifo'; mode?: number; mtimeNs?: bigint; uid?: number; gid?: number }
  | { type: 'chardev' | 'blockdev'; major: number; minor: number; mode?: number; mtimeNs?: bigint; uid?: number; gid?: number }

const DEFAULT_MODE = { file: 0o644, dir: 0o755, fifo: 0o644, chardev: 0o660, blockdev: 0o660 } as const

function toBuf(p: Buffer | string): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p)
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name])
}

// ---------------------------------------------------------------------------------------------
// Deterministic content

/**
 * `size` deterministic pseudo-random bytes for `seed`: the AES-128-CTR keystream under the key
 * sha256("tarshift fixture seed <seed>")[0..16], zero IV. Fast (native crypto, GB/s), stable
 * across Node versions, incompressible, and different seeds share no chunks.
 */
export function seededBytes(size: number, seed: number): Buffer {
  const key = createHash('sha256').update(`tarshift fixture seed ${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()])
}

function fileContent(node: Extract<FixtureNode, { type: 'file' }>): Buffer {
  if (node.content !== undefined) {
    if (node.seed !== undefined) throw new Error('fixture file: give content or size+seed, not both')
    return toBuf(node.content)
  }
  if (node.size !== undefined) return seededBytes(node.size, node.seed ?? 0)
  return Buffer.alloc(0)
}

// ---------------------------------------------------------------------------------------------
// Temp dirs

const madeTmpDirs = new Set<string>()

/** mkdtemp under os.tmpdir(); removed when the process exits unless TARSHIFT_KEEP_TMP is set. */
export function tmpDir(prefix = 'tarshift-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  madeTmpDirs.add(dir)
  return dir
}

/** Like tmpDir, but removed in the tap test's teardown. */
export function tmpDirFor(t: { teardown(fn: () => void): unknown }, prefix = 'tarshift-test-'): string {
  const dir = tmpDir(prefix)
  t.teardown(() => removeTmpDir(dir))
  return dir
}

/** Removes a dir made by tmpDir now (a no-op when TARSHIFT_KEEP_TMP is set). */
export function removeTmpDir(dir: string): void {
  if (process.env.TARSHIFT_KEEP_TMP) return
  // As root, mode 000 entries need no chmod first; rmSync walks with byte names.
  fs.rmSync(dir, { recursive: true, force: true })
  madeTmpDirs.delete(dir)
}

process.on('exit', () => {
  for (const dir of [...madeTmpDirs]) removeTmpDir(dir)
})

// ---------------------------------------------------------------------------------------------
// Running commands on byte paths
//
// Node's child_process turns every argument into a UTF-8 string, so a Buffer argument holding
// 0xff arrives as U+FFFD. Instead each argument travels as printf-safe ASCII (bytes other than
// [A-Za-z0-9/._] as \ooo) and a tiny sh script decodes it with printf before running the command.

function shEncode(arg: Buffer | string): string {
  let out = ''
  for (const b of toBuf(arg)) {
    const safe = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2f || b === 0x2e || b === 0x5f
    out += safe ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0')
  }
  return out
}

// The trailing x keeps a final newline from being stripped by the command substitution.
const DECODE_ARGS_AND_EXEC = 'for a do v=$(printf "${a}x"); shift; set -- "$@" "${v%x}"; done; exec "$@"'
const TOUCH_PAIRS = 'while [ $# -gt 0 ]; do p=$(printf "${2}x"); touch -h -d "$1" -- "${p%x}" || exit 1; shift 2; done'

function runSh(script: string, args: string[]): void {
  try {
    execFileSync('sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    throw new Error(`fixture command failed: ${e.stderr?.toString().trim() || e.message}`)
  }
}

/** Runs argv[0] with arguments that may be arbitrary bytes (no NUL). */
export function execBytes(argv: Array<Buffer | string>): void {
  runSh(DECODE_ARGS_AND_EXEC, argv.map(shEncode))
}

/** "@SECONDS.NANOS" for touch -d; exact for any bigint, negative ones included. */
function touchStamp(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns
  return `@${ns < 0n ? '-' : ''}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`
}

/**
 * Sets atime and mtime (both to `mtimeNs`, exact to the nanosecond) of each path without following
 * symlinks, in the given order. Whole seconds go through fs.lutimesSync; anything with a fraction
 * goes through `touch -h -d @S.N` (Node's utimes takes float seconds and would round the ns).
 */
export function setTimesNs(items: Array<[Buffer | string, bigint]>): void {
  let pending: string[] = []
  const flush = (): void => {
    // Batches keep the argument list far below ARG_MAX.
    for (let i = 0; i < pending.length; i += 2 * 500) runSh(TOUCH_PAIRS, pending.slice(i, i + 2 * 500))
    pending = []
  }
  for (const [p, ns] of items) {
    if (ns % 1_000_000_000n === 0n) {
      flush()
      const s = Number(ns / 1_000_000_000n)
      fs.lutimesSync(toBuf(p), s, s)
    } else {
      pending.push(touchStamp(ns), shEncode(p))
    }
  }
  flush()
}

/** Single-path form of setTimesNs. */
export function setMtimeNs(p: Buffer | string, mtimeNs: bigint): void {
  setTimesNs([[p, mtimeNs]])
}

// ---------------------------------------------------------------------------------------------
// buildTree

function childEntries(node: Extract<FixtureNode, { type: 'dir' }>): Array<[Buffer, FixtureNode]> {
  const list: Array<[Buffer, FixtureNode]> = Array.isArray(node.children)
    ? node.children
    : Object.entries(node.children).map(([name, child]) => [Buffer.from(name), child])
  const seen = new Set<string>()
  for (const [name] of list) {
    const s = name.toString('hex')
    if (name.length === 0 || name.includes(0x2f) || name.includes(0) || s === '2e' || s === '2e2e' || seen.has(s)) {
      throw new Error(`fixture: bad or duplicate name ${JSON.stringify(name.toString('latin1'))}`)
    }
    seen.add(s)
  }
  return list
}

interface BuildState {
  hardlinks: Array<[Buffer, string]>
  modes: Array<[Buffer, number]>
  times: Array<[Buffer, bigint]>
}

function setOwnerAndXattrs(p: Buffer, node: { uid?: number; gid?: number; xattrs?: Record<string, Buffer | string> }): void {
  if (node.uid !== undefined || node.gid !== undefined) fs.lchownSync(p, node.uid ?? -1, node.gid ?? -1)
  for (const [name, value] of Object.entries(node.xattrs ?? {})) native.lsetxattr(p, Buffer.from(name), toBuf(value))
}

function create(p: Buffer, node: FixtureNode, st: BuildState, isRoot: boolean): void {
  switch (node.type) {
    case 'file':
      fs.writeFileSync(p, fileContent(node), { flag: 'wx' })
      break
    case 'dir':
      if (!isRoot) fs.mkdirSync(p)
      for (const [name, child] of childEntries(node)) create(join(p, name), child, st, false)
      break
    case 'symlink':
      fs.symlinkSync(toBuf(node.target), p)
      break
    case 'hardlink':
      st.hardlinks.push([p, node.to])
      return
    case 'fifo':
      execBytes(['mkfifo', p])
      break
    case 'chardev':
    case 'blockdev':
      execBytes(['mknod', p, node.type === 'chardev' ? 'c' : 'b', String(node.major), String(node.minor)])
      break
  }
  // Owner before mode: chown clears setuid/setgid bits.
  setOwnerAndXattrs(p, node)
  if (node.type !== 'symlink') st.modes.push([p, node.mode ?? DEFAULT_MODE[node.type]])
  // Post-order: a directory's time comes after everything inside it.
  if (node.mtimeNs !== undefined) st.times.push([p, node.mtimeNs])
}

/**
 * Creates `spec` (a dir node) at `root`; root may already exist as an empty dir (its mode, owner,
 * xattrs and time are still applied). Order: every node with its content, owner and xattrs;
 * then hardlinks; then modes (so mode 000 files got their content first, and chown cannot clear
 * setuid); then times, deepest first, each dir after its children, so nothing disturbs them
 * afterwards. atime is set equal to mtime. Nodes without mtimeNs keep their creation time.
 */
export function buildTree(root: Buffer | string, spec: FixtureNode): void {
  if (spec.type !== 'dir') throw new Error('buildTree: the spec must be a dir node')
  const rootBuf = toBuf(root)
  fs.mkdirSync(rootBuf, { recursive: true })
  const st: BuildState = { hardlinks: [], modes: [], times: [] }
  create(rootBuf, spec, st, true)
  for (const [p, to] of st.hardlinks) {
    const target = Buffer.concat([rootBuf, Buffer.from('/' + to)])
    if (!fs.lstatSync(target, { throwIfNoEntry: false })?.isFile()) {
      throw new Error(`fixture: hardlink target ${to} is not a regular file of the spec`)
    }
    fs.linkSync(target, p)
  }
  for (const [p, mode] of st.modes) fs.chmodSync(p, mode)
  setTimesNs(st.times)
}

// ---------------------------------------------------------------------------------------------
// The "everything" fixture

const NS = 1_000_000_000n

/** Well-known times and paths inside fullFixture(), so tests need not repeat them. */
export const FULL = {
  /** 1966-02-02T02:26:51.5Z */
  pre1970Ns: -123456789n * NS + 500_000_000n,
  /** 2100-01-01T00:00:00.123456789Z */
  post2038Ns: 4102444800_123456789n,
  symlinkNs: 1234567890_987654321n,
  bigSeed: 1,
  xattrBinary: Buffer.from([0x00, 0xff, 0x0a, 0x3d]),
  paths: {
    regular: 'regular.txt',
    empty: 'empty',
    big: 'big.bin',
    setuid: 'setuid',
    setgid: 'setgid',
    mode000: 'mode000',
    owned: 'owned',
    xattrs: 'xattrs.bin',
    sticky: 'sticky',
    emptyDir: 'empty-dir',
    newline: 'odd/new\nline',
    nonUtf8: Buffer.from('odd/\x66\xff\xfe', 'latin1'),
    nonUtf8Dir: Buffer.from('odd/d\xff', 'latin1'),
    name250: 'odd/' + 'n250-' + 'x'.repeat(245),
    long: 'long/' + ['a', 'b', 'c'].map(c => c.repeat(120)).join('/') + '/file-at-the-end.txt',
    dangling: 'links/dangling',
    longTarget: 'links/long-target',
    pre1970: 'times/pre-1970',
    post2038: 'times/post-2038',
    symlinkNs: 'times/link-ns',
    fifo: 'special/fifo',
    chardev: 'special/null-like',
    blockdev: 'special/loop-like',
    bigNumbersDev: 'special/big-numbers',
    pair: ['hardlinks/pair-a', 'hardlinks/pair-b'],
    trio: ['dir/sub/trio-2', 'hardlinks/trio-1', 'trio-3'],
  },
  uid: 1234,
  gid: 5678,
} as const

/** Gives every node without an mtime a distinct one with nanoseconds, so the tree is reproducible. */
function fillTimes(node: FixtureNode, counter: { n: bigint }): void {
  if (node.type === 'hardlink') return
  if (node.type === 'dir') {
    for (const [, child] of childEntries(node)) fillTimes(child, counter)
  }
  if (node.mtimeNs === undefined) {
    counter.n++
    node.mtimeNs = 1_600_000_000n * NS + counter.n * 86_400_000_000_007n
  }
}

/**
 * The "everything" tree (see FULL for its well-known paths and values). `bigSize` is the size of
 * big.bin (default 9 MiB: more than three chunks of an average-2 MiB chunker); fast tests pass a
 * small one. Every node has a fixed mtime, so two builds snapshot alike except for inodes.
 */
export function fullFixture(bigSize = 9 * 1024 * 1024): FixtureNode {
  const P = FULL.paths
  const nameOf = (p: string | Buffer): Buffer => {
    const b = toBuf(p)
    return b.subarray(b.lastIndexOf(0x2f) + 1)
  }
  const [a120, b120, c120] = ['a', 'b', 'c'].map(c => c.repeat(120)) as [string, string, string]
  const spec: FixtureNode = {
    type: 'dir',
    mode: 0o755,
    children: {
      'regular.txt': { type: 'file', content: 'hello, tarshift\n' },
      empty: { type: 'file', content: '' },
      'big.bin': { type: 'file', size: bigSize, seed: FULL.bigSeed },
      'inline-16384.bin': { type: 'file', size: 16384, seed: 2 },
      'inline-16385.bin': { type: 'file', size: 16385, seed: 3 },
      setuid: { type: 'file', content: '#!/bin/sh\necho setuid\n', mode: 0o4755 },
      setgid: { type: 'file', content: '#!/bin/sh\necho setgid\n', mode: 0o2755 },
      mode000: { type: 'file', content: 'no permission bits at all\n', mode: 0 },
      owned: { type: 'file', content: 'owned by 1234:5678\n', mode: 0o640, uid: FULL.uid, gid: FULL.gid },
      'xattrs.bin': {
        type: 'file',
        content: 'has user xattrs\n',
        xattrs: { 'user.binary': FULL.xattrBinary, 'user.empty': Buffer.alloc(0), 'user.text': 'tarshift' },
      },
      sticky: { type: 'dir', mode: 0o1777, children: { 'in-sticky': { type: 'file', content: 'x\n' } } },
      'empty-dir': { type: 'dir', children: {} },
      dir: {
        type: 'dir',
        mode: 0o750,
        xattrs: { 'user.on-dir': Buffer.from([0x3d, 0x00, 0xff]) },
        children: {
          sub: {
            type: 'dir',
            children: {
              subsub: { type: 'dir', children: { 'deep.txt': { type: 'file', content: 'deep\n' } } },
              'trio-2': { type: 'hardlink', to: 'hardlinks/trio-1' },
            },
          },
        },
      },
      odd: {
        type: 'dir',
        children: [
          [nameOf(P.newline), { type: 'file', content: 'newline in name\n' }],
          [Buffer.from('with space \\ backslash'), { type: 'file', content: 'space\n' }],
          [Buffer.from('café'), { type: 'file', content: 'utf-8 name\n' }],
          [nameOf(P.nonUtf8), { type: 'file', content: 'non-UTF-8 name\n' }],
          [nameOf(P.nonUtf8Dir), { type: 'dir', children: { inner: { type: 'file', content: 'inside a non-UTF-8 dir\n' } } }],
          [nameOf(P.name250), { type: 'file', content: '250-byte name\n' }],
        ],
      },
      long: {
        type: 'dir',
        children: {
          [a120]: { type: 'dir', children: { [b120]: { type: 'dir', children: { [c120]: { type: 'dir', children: {
            'file-at-the-end.txt': { type: 'file', content: 'path longer than 300 bytes\n' },
          } } } } } },
        },
      },
      links: {
        type: 'dir',
        children: [
          [Buffer.from('to-file'), { type: 'symlink', target: '../regular.txt' }],
          [Buffer.from('to-dir'), { type: 'symlink', target: '../dir' }],
          [Buffer.from('dangling'), { type: 'symlink', target: 'no/such/target' }],
          [Buffer.from('absolute'), { type: 'symlink', target: '/nonexistent/tarshift-absolute-target' }],
          [Buffer.from('long-target'), { type: 'symlink', target: 'long-target-' + 'x'.repeat(488) }],
          [Buffer.from('to-non-utf8'), { type: 'symlink', target: Buffer.concat([Buffer.from('../'), P.nonUtf8]) }],
        ],
      },
      hardlinks: {
        type: 'dir',
        children: {
          'pair-a': { type: 'file', content: 'two names, one directory\n' },
          'pair-b': { type: 'hardlink', to: 'hardlinks/pair-a' },
          'trio-1': { type: 'file', content: 'three names, three directories\n', mode: 0o600 },
        },
      },
      'trio-3': { type: 'hardlink', to: 'hardlinks/trio-1' },
      special: {
        type: 'dir',
        children: {
          fifo: { type: 'fifo', mode: 0o644 },
          'null-like': { type: 'chardev', major: 1, minor: 3, mode: 0o666 },
          'loop-like': { type: 'blockdev', major: 7, minor: 0, mode: 0o660 },
          // minor > 255 and major > 255 use the split bits of Linux's dev_t encoding.
          'big-numbers': { type: 'chardev', major: 300, minor: 70000, mode: 0o600 },
        },
      },
      times: {
        type: 'dir',
        mtimeNs: FULL.post2038Ns,
        children: {
          'pre-1970': { type: 'file', content: 'before the epoch\n', mtimeNs: FULL.pre1970Ns },
          'post-2038': { type: 'file', content: 'after 2038\n', mtimeNs: FULL.post2038Ns },
          'link-ns': { type: 'symlink', target: 'pre-1970', mtimeNs: FULL.symlinkNs },
          'dir-pre-1970': { type: 'dir', mtimeNs: FULL.pre1970Ns, children: { f: { type: 'file', content: 'f\n' } } },
        },
      },
    },
  }
  fillTimes(spec, { n: 0n })
  return spec
}
