// tarshift save stores everything about a source tree that DESIGN.md §2 lists, exactly: the
// "everything" fixture is saved with the real CLI, then the stored trees are read back through
// the library (not through restore) and every entry is compared field by field with lstat,
// readlink and lgetxattr of the source, and every file's content with the source's bytes.
import t from 'tap'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { native } from '../../lib/fs/native.js'
import { readConfig } from '../../lib/repo/config.js'
import { ENTRY_TYPE_NAMES, EntryType, timespecToNs, type Entry } from '../../lib/tree/entry.js'
import { findEntry, readTree } from '../../lib/tree/tree-store.js'
import { buildTree, FULL, fullFixture, tmpDirFor } from '../helpers/fixture-tree.js'
import { sha256File, snapshotTree, splitRdev } from '../helpers/tree-snapshot.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { showPath } from '../helpers/show-path.js'
import { newSavedir, saveJson, showRun, summaryOf, tarshift } from '../helpers/cli.js'
import { savedContent, savedSubtree, sha256, withStore, type SavedItem } from '../helpers/saved-tree.js'

const P = FULL.paths
/** big.bin: more than three chunks of the 256 KiB-average chunker, not a multiple of anything. */
const BIG = 3 * 1024 * 1024 + 12345
const SLASH = Buffer.from('/')

const TYPE_NAMES: Record<number, string> = ENTRY_TYPE_NAMES

function sourceType(st: fs.BigIntStats): string {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isCharacterDevice()) return 'chardev'
  if (st.isBlockDevice()) return 'blockdev'
  if (st.isFIFO()) return 'fifo'
  if (st.isSocket()) return 'socket'
  return 'unknown'
}

/** Everything the save must record about one path, as comparable plain values. */
interface Record_ {
  type: string
  mode: string
  uid: number
  gid: number
  size: number
  mtimeNs: string
  ctimeNs: string
  ino: string
  rdev?: string
  target?: string
  xattrs: Array<[string, string]>
  sha256?: string
  /** Directories: child names (hex), in stored order. */
  names?: string[]
}

function rel2abs(root: Buffer, rel: Buffer): Buffer {
  return rel.length === 0 ? root : Buffer.concat([root, SLASH, rel])
}

function expectedRecord(abs: Buffer): Record_ {
  const st = fs.lstatSync(abs, { bigint: true })
  const type = sourceType(st)
  const r: Record_ = {
    type,
    mode: (st.mode & 0o7777n).toString(8),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
    ino: st.ino.toString(),
    xattrs: native.lgetxattrs(abs)
      .sort((a, b) => Buffer.compare(a[0], b[0]))
      .map(([n, v]): [string, string] => [n.toString('hex'), v.toString('hex')]),
  }
  if (type === 'chardev' || type === 'blockdev') {
    const { major, minor } = splitRdev(st.rdev)
    r.rdev = `${major},${minor}`
  }
  if (type === 'symlink') r.target = fs.readlinkSync(abs, { encoding: 'buffer' }).toString('hex')
  if (type === 'file') r.sha256 = sha256File(abs)
  if (type === 'dir') {
    // Sockets are not saved (a note, not a warning): they are not expected in the stored tree.
    r.names = fs.readdirSync(abs, { encoding: 'buffer' })
      .filter(n => !fs.lstatSync(Buffer.concat([abs, SLASH, n])).isSocket())
      .sort(Buffer.compare)
      .map(n => n.toString('hex'))
  }
  return r
}

async function storedRecord(store: Parameters<typeof savedContent>[0], e: Entry): Promise<Record_> {
  const r: Record_ = {
    type: TYPE_NAMES[e.type] ?? `unknown ${e.type}`,
    mode: e.mode.toString(8),
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    mtimeNs: timespecToNs(e.mtime).toString(),
    ctimeNs: timespecToNs(e.ctime).toString(),
    ino: String(e.ino),
    xattrs: (e.xattrs ?? []).map(([n, v]): [string, string] => [n.toString('hex'), v.toString('hex')]),
  }
  if (e.rdev) r.rdev = `${e.rdev[0]},${e.rdev[1]}`
  if (e.target) r.target = e.target.toString('hex')
  if (e.type === EntryType.File) r.sha256 = sha256(await savedContent(store, e))
  if (e.type === EntryType.Dir) {
    r.names = e.tree ? (await readTree(store, e.tree)).map(c => c.name.toString('hex')) : ['(no tree)']
  }
  return r
}

function item(items: SavedItem[], rel: string | Buffer): Entry {
  const want = Buffer.isBuffer(rel) ? rel : Buffer.from(rel)
  const it = items.find(i => i.rel.equals(want))
  if (!it) throw new Error(`not saved: ${showPath(want)}`)
  return it.entry
}

/** Listens on a unix socket at `p` until closed: a socket file in the tree. */
async function unixSocket(p: string): Promise<net.Server> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(p, resolve)
  })
  return server
}

t.test('save records every entry of the full fixture field by field', async t => {
  const base = tmpDirFor(t, 'tarshift-fidelity-')
  const src = path.join(base, 'src')
  const srcBuf = Buffer.from(src)
  buildTree(src, fullFixture(BIG))
  const sockPath = path.join(src, 'special', 'sock')
  const server = await unixSocket(sockPath)
  t.teardown(() => new Promise<void>(r => server.close(() => r())))
  t.ok(fs.lstatSync(sockPath).isSocket(), 'the fixture has a socket')

  const savedir = newSavedir(t, ['--chunk-size', '256K'])
  const chunker = readConfig(savedir).chunker
  t.same([chunker.min, chunker.avg, chunker.max], [64 * 1024, 256 * 1024, 1024 * 1024], 'init --chunk-size 256K')

  const r = tarshift(['save', '-r', savedir, '--subset', 'fidelity', '--progress', 'none', '--json', src])
  t.equal(r.status, 0, `a skipped socket is a note, not a warning: ${showRun(r)}`)
  const noteLines = r.stderr.split('\n').filter(l => l.includes('special/sock'))
  t.equal(noteLines.length, 1, 'one line names the socket')
  t.match(noteLines[0] ?? '', /^tarshift: note: .*special\/sock: .*socket/, 'it is a note that says "socket"')
  t.notMatch(r.stderr, /warning/, 'no warnings')
  const j = saveJson(r)
  t.equal(j.warnings, 0)
  const summary = summaryOf(savedir, j.id)
  t.not(summary.finish, null, 'the saveset is complete')
  t.equal(summary.warnings, 0)
  t.ok(summary.root, 'it has a root tree')
  const rootHex = summary.root as string

  await withStore(savedir, async store => {
    // Ancestors of the saved path are recorded as directories, with their own metadata.
    let tree: Buffer = Buffer.from(rootHex, "hex")
    let abs: Buffer = Buffer.alloc(0)
    for (const c of src.split('/').filter(Boolean).map(s => Buffer.from(s))) {
      abs = Buffer.concat([abs, SLASH, c])
      const e = findEntry(await readTree(store, tree), c)
      t.ok(e, `ancestor ${showPath(abs)} is recorded`)
      if (!e) return
      const st = fs.lstatSync(abs, { bigint: true })
      t.same({ type: TYPE_NAMES[e.type], mode: e.mode, uid: e.uid, gid: e.gid },
        { type: 'dir', mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) },
        `ancestor ${showPath(abs)} is a directory with its mode and owner`)
      t.ok(e.tree, 'with a tree')
      if (e.tree) tree = e.tree
    }
    const rootNames = (await readTree(store, Buffer.from(rootHex, 'hex'))).map(e => e.name.toString())
    t.same(rootNames, [src.split('/')[1]], 'the root tree holds only the first component of the saved path')

    const items = await savedSubtree(store, rootHex, src)
    t.ok(items.length > 50, `the saved subtree has ${items.length} entries`)

    // Every source entry (but the socket) is stored, and nothing else.
    const sourcePaths: Buffer[] = []
    const walk = (absP: Buffer, rel: Buffer): void => {
      const st = fs.lstatSync(absP)
      if (st.isSocket()) return
      sourcePaths.push(rel)
      if (st.isDirectory()) {
        for (const n of fs.readdirSync(absP, { encoding: 'buffer' })) {
          walk(Buffer.concat([absP, SLASH, n]), rel.length ? Buffer.concat([rel, SLASH, n]) : n)
        }
      }
    }
    walk(srcBuf, Buffer.alloc(0))
    t.same(items.map(i => showPath(i.rel)).sort(), sourcePaths.map(p => showPath(p)).sort(), 'the same paths as the source, the socket left out')
    t.notOk(items.some(i => i.rel.toString().endsWith('sock')), 'the socket is not in the tree')

    // Field by field.
    let compared = 0
    for (const it of items) {
      const expected = expectedRecord(rel2abs(srcBuf, it.rel))
      const actual = await storedRecord(store, it.entry)
      t.same(actual, expected, `${showPath(it.rel) || '. (root)'}: stored as on disk`)
      compared++
    }
    t.equal(compared, sourcePaths.length)

    // Entries within each tree are sorted by name bytes.
    for (const it of items.filter(i => i.entry.type === EntryType.Dir)) {
      const names = (await readTree(store, it.entry.tree as Buffer)).map(e => e.name)
      const sorted = [...names].sort(Buffer.compare)
      if (!names.every((n, i) => n.equals(sorted[i] as Buffer))) t.fail(`${showPath(it.rel)}: entries not sorted by name bytes`)
    }

    // What must not be stored: atime (no --atime), link counts and st_dev have no field at all.
    t.notOk(items.some(i => i.entry.atime !== undefined), 'no atime without --atime')
    for (const it of items) {
      const keys = Object.keys(it.entry)
      if (keys.some(k => /^(nlink|links?Count|dev|stDev|atime)$/i.test(k))) t.fail(`${showPath(it.rel)}: stores ${keys.join(',')}`)
    }

    // Content placement: inline up to the limit, chunks above, nothing for empty files and for
    // anything that is not a regular file.
    const big = item(items, P.big)
    t.notOk(big.data, 'big.bin is not inline')
    const chunks = big.chunks ?? []
    t.ok(chunks.length > 3, `big.bin has ${chunks.length} chunks (> 3)`)
    t.equal(chunks.reduce((n, c) => n + c.length, 0), BIG, 'chunk lengths add up to the file size')
    t.ok(chunks.every(c => c.length <= chunker.max), 'no chunk over the maximum')
    t.ok(chunks.slice(0, -1).every(c => c.length >= chunker.min), 'no chunk but the last under the minimum')
    t.equal(sha256(await savedContent(store, big)), sha256File(path.join(src, P.big)), 'big.bin content from its chunks')
    const at = item(items, 'inline-16384.bin')
    t.ok(at.data && !at.chunks, 'a 16384-byte file is inline')
    t.equal(at.data?.length, 16384)
    const over = item(items, 'inline-16385.bin')
    t.ok(!over.data && over.chunks?.length === 1, 'a 16385-byte file is one chunk')
    const empty = item(items, P.empty)
    t.ok(!empty.data && !empty.chunks && empty.size === 0, 'an empty file has neither data nor chunks')
    for (const it of items.filter(i => i.entry.type !== EntryType.File)) {
      if (it.entry.data || it.entry.chunks) t.fail(`${showPath(it.rel)}: a ${TYPE_NAMES[it.entry.type]} with content`)
    }
    const fifo = item(items, P.fifo)
    t.equal(fifo.type, EntryType.Fifo, 'the fifo is a fifo')
    t.ok(!fifo.data && !fifo.chunks && fifo.size === 0, 'the fifo was not read')

    // The values the fixture pins, spelled out (the loop above compares them with lstat too).
    t.equal(item(items, P.setuid).mode, 0o4755, 'setuid')
    t.equal(item(items, P.setgid).mode, 0o2755, 'setgid')
    t.equal(item(items, P.sticky).mode, 0o1777, 'sticky')
    t.equal(item(items, P.mode000).mode, 0, 'mode 000')
    t.equal(item(items, P.mode000).data?.toString(), 'no permission bits at all\n', 'mode 000 file read')
    t.same([item(items, P.owned).uid, item(items, P.owned).gid], [FULL.uid, FULL.gid], 'uid/gid')
    t.equal(item(items, P.regular).uname, 'root', 'user name recorded')
    t.equal(timespecToNs(item(items, P.pre1970).mtime), FULL.pre1970Ns, 'mtime before 1970, ns exact')
    t.ok(item(items, P.pre1970).mtime[0] < 0, 'as negative seconds')
    t.equal(timespecToNs(item(items, P.post2038).mtime), FULL.post2038Ns, 'mtime after 2038, ns exact')
    t.equal(timespecToNs(item(items, P.symlinkNs).mtime), FULL.symlinkNs, 'a symlink\'s own mtime')
    t.equal(item(items, P.dangling).target?.toString(), 'no/such/target', 'dangling symlink target')
    t.equal(item(items, P.longTarget).target?.length, 500, '500-byte symlink target')
    const xa = item(items, P.xattrs).xattrs ?? []
    t.same(xa.map(([n, v]) => [n.toString(), v.toString('hex')]),
      [['user.binary', FULL.xattrBinary.toString('hex')], ['user.empty', ''], ['user.text', Buffer.from('tarshift').toString('hex')]],
      'binary, empty and text xattr values, sorted by name')
    t.same(item(items, 'dir').xattrs?.map(([n, v]) => [n.toString(), v.toString('hex')]), [['user.on-dir', '3d00ff']], 'xattr on a directory')
    t.same(item(items, P.chardev).rdev, [1, 3], 'char device numbers')
    t.same(item(items, P.blockdev).rdev, [7, 0], 'block device numbers')
    t.same(item(items, P.bigNumbersDev).rdev, [300, 70000], 'device numbers past 8 bits')
    t.equal(item(items, P.name250).name.length, 250, '250-byte name')
    t.ok(item(items, P.nonUtf8).name.equals(P.nonUtf8.subarray(4)), 'non-UTF-8 name, byte exact')
    t.equal(item(items, 'odd/new\nline').name.toString(), 'new\nline', 'newline in a name')
    t.equal(item(items, Buffer.concat([P.nonUtf8Dir, Buffer.from('/inner')])).data?.toString(), 'inside a non-UTF-8 dir\n')
    const longRel = Buffer.from(P.long)
    t.ok(Buffer.concat([srcBuf, SLASH, longRel]).length > 300, 'path over 300 bytes')
    t.equal(item(items, longRel).data?.toString(), 'path longer than 300 bytes\n')

    // Hardlinks: members of one source inode group share one key, the saved path of the group's
    // first member in tree order; files with one link carry none.
    const byIno = new Map<string, SavedItem[]>()
    for (const it of items) {
      if (it.entry.type !== EntryType.File) continue
      const st = fs.lstatSync(rel2abs(srcBuf, it.rel), { bigint: true })
      if (st.nlink === 1n) {
        if (it.entry.link) t.fail(`${showPath(it.rel)}: single link but link key ${showPath(it.entry.link)}`)
        continue
      }
      const g = byIno.get(st.ino.toString()) ?? []
      g.push(it)
      byIno.set(st.ino.toString(), g)
    }
    const groups = [...byIno.values()].map(g => g.map(i => showPath(i.rel)).sort())
    t.same(groups.sort(), [[...P.trio].sort(), [...P.pair].sort()].sort(), 'two hardlink groups: within one directory and across three')
    const keys = new Set<string>()
    for (const g of byIno.values()) {
      const first = g[0] as SavedItem // walk order = tree order
      const key = Buffer.concat([SLASH, first.path])
      for (const it of g) {
        t.ok(it.entry.link?.equals(key), `${showPath(it.rel)}: link key is ${showPath(key)}`)
        t.same(it.entry.data, first.entry.data, `${showPath(it.rel)}: carries the group's content`)
      }
      keys.add(key.toString('hex'))
    }
    t.equal(keys.size, 2, 'the two groups have different keys')
  })
})

t.test('the saved full fixture restores through tar as it was', async t => {
  const base = tmpDirFor(t, 'tarshift-fidelity-')
  const src = path.join(base, 'src')
  buildTree(src, fullFixture(BIG))
  const savedir = newSavedir(t, ['--chunk-size', '256K'])
  const r = tarshift(['save', '-r', savedir, '--subset', 'fidelity', '--progress', 'none', '--json', src])
  t.equal(r.status, 0, showRun(r))
  const id = saveJson(r).id
  const tarFile = path.join(base, 'out.tar')
  const restored = tarshift(['restore', '-r', savedir, id, src])
  t.equal(restored.status, 0, `restore: ${showRun(restored)}`)
  fs.writeFileSync(tarFile, restored.stdout)
  const out = path.join(base, 'out')
  fs.mkdirSync(out)
  const x = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-xpf', tarFile, '-C', out])
  t.equal(x.status, 0, `tar -x: ${x.stderr.toString()}`)
  assertSameTree(t, snapshotTree(src), snapshotTree(path.join(out, src)), { labels: ['source', 'restored'] })
})
