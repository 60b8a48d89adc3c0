// restore → GNU tar round trips (DESIGN.md §7): the full fixture saved with a small chunk size
// (so big.bin spans several chunks), restored as a pax stream piped into `tar -xp`, equals the
// source field by field: content, type, mode (000, setuid, setgid, sticky), owner, ns mtime (pax
// keeps nanoseconds, and tar -p sets directory times after filling them), symlink targets,
// device numbers, fifos, binary xattrs, odd names, long paths and hardlink groups.
// `tar --diff` against the live tree finds nothing, then finds a file changed after the save.
// `tar -b 2048` (1 MiB records) extracts and compares the same.
// --format gnu keeps names of any length and kind, whole-second mtimes, no xattrs (and says so).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { FULL, seededBytes, setMtimeNs } from '../helpers/fixture-tree.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { findNode, hardlinkGroups, snapshotTree } from '../helpers/tree-snapshot.js'
import { showPath } from '../helpers/show-path.js'
import { showRun, summaryOf, tarshift } from '../helpers/cli.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'
import {
  EXTRACT, TAR_ENV, TARSHIFT_SH, restoreToTar, savedFullFixture, shQuote, tarNames, tarVerbose, unexpectedTarWarnings, verboseLine,
} from '../helpers/restore-run.js'

const P = FULL.paths
const BIG = 3 * 1024 * 1024 + 12345
const fx = savedFullFixture(t, BIG, ['--chunk-size', '256K'])

t.test('big.bin is stored as more than three chunks', async t => {
  const root = summaryOf(fx.savedir, fx.id).root
  if (!root) throw new Error('saveset has no root')
  const items = await withStore(fx.savedir, store => savedSubtree(store, root, path.join(fx.src, P.big)))
  const chunks = items[0]?.entry.chunks ?? []
  t.ok(chunks.length > 3, `big.bin has ${chunks.length} chunks`)
  t.equal(chunks.reduce((n, c) => n + c.length, 0), BIG)
})

t.test('pax stream piped into tar -xp restores the tree exactly', async t => {
  const out = path.join(fx.dir, 'out-pax')
  fs.mkdirSync(out)
  const r = await restoreToTar(['-r', fx.savedir, 'latest'], [...EXTRACT, '-C', out])
  t.equal(r.restore.status, 0, `restore exits 0; stderr: ${r.restore.stderr}`)
  t.equal(r.restore.stderr, '', 'restore prints nothing on stderr')
  t.equal(r.tar.status, 0, `tar exits 0; stderr: ${r.tar.stderr}`)
  t.same(unexpectedTarWarnings(r.tar.stderr), [], 'tar prints no warnings but the known ones')

  const restored = path.join(out, fx.base)
  // No ignores: root included, ns mtimes (dirs too), modes, owners, xattrs, hardlink groups.
  assertSameTree(t, fx.src, restored, { labels: ['source', 'restored'] })

  // The same, spelled out for the cases that matter most.
  const snap = snapshotTree(restored)
  const node = (rel: string | Buffer) => {
    const n = findNode(snap, rel)
    if (!n) throw new Error(`restored tree lacks ${showPath(Buffer.from(rel))}`)
    return n
  }
  t.equal(node(P.big).size, BIG)
  t.ok(fs.readFileSync(path.join(restored, P.big)).equals(seededBytes(BIG, FULL.bigSeed)), 'big.bin bytes')
  t.equal(node(P.mode000).mode, 0)
  t.equal(node(P.setuid).mode, 0o4755)
  t.equal(node(P.setgid).mode, 0o2755)
  t.equal(node(P.sticky).mode, 0o1777)
  t.same([node(P.owned).uid, node(P.owned).gid], [FULL.uid, FULL.gid])
  t.equal(node(P.pre1970).mtimeNs, FULL.pre1970Ns, 'pre-1970 mtime to the ns')
  t.equal(node(P.post2038).mtimeNs, FULL.post2038Ns, 'post-2038 mtime to the ns')
  t.equal(node(P.symlinkNs).mtimeNs, FULL.symlinkNs, 'symlink mtime to the ns')
  t.equal(node('times').mtimeNs, FULL.post2038Ns, 'directory mtime set after its contents')
  t.equal(node(P.dangling).target?.toString(), 'no/such/target')
  t.equal(node(P.longTarget).target?.length, 500, '500-byte symlink target')
  t.same([node(P.bigNumbersDev).rdevMajor, node(P.bigNumbersDev).rdevMinor], [300, 70000])
  t.equal(node(P.fifo).type, 'fifo')
  t.same(node(P.xattrs).xattrs.find(([n]) => n === 'user.binary'), ['user.binary', FULL.xattrBinary.toString('hex')])
  t.equal(node(P.nonUtf8).type, 'file', 'non-UTF-8 name byte-exact')
  t.equal(node(P.newline).type, 'file', 'newline in a name')
  t.equal(node(P.name250).type, 'file', '250-byte name')
  t.ok(Buffer.byteLength(path.join(fx.base, P.long)) > 300, 'the long path is over 300 bytes')
  t.equal(node(P.long).type, 'file', '> 300-byte path')
  t.same(hardlinkGroups(snap), [[...P.trio], [...P.pair]], 'hardlink groups share an inode')
})

t.test('tar -b 2048 (1 MiB records, as doc/restore.md advises for large files) restores the tree exactly too', async t => {
  const out = path.join(fx.dir, 'out-b2048')
  fs.mkdirSync(out)
  const r = await restoreToTar(['-r', fx.savedir, 'latest'], ['-b', '2048', ...EXTRACT, '-C', out])
  t.equal(r.restore.status, 0, `restore exits 0; stderr: ${r.restore.stderr}`)
  t.equal(r.tar.status, 0, `tar exits 0; stderr: ${r.tar.stderr}`)
  t.same(unexpectedTarWarnings(r.tar.stderr), [], 'tar prints no warnings but the known ones')
  assertSameTree(t, fx.src, path.join(out, fx.base), { labels: ['source', 'restored'] })
  const pipeline = `set -o pipefail; ${TARSHIFT_SH} restore -r ${shQuote(fx.savedir)} latest ${shQuote(fx.src)} | tar -b 2048 --diff -f - -C /`
  const diff = spawnSync('bash', ['-c', pipeline], { env: TAR_ENV, encoding: 'utf8' })
  t.equal(diff.status, 0, `tar -b 2048 --diff: exit 0; stdout: ${diff.stdout}; stderr: ${diff.stderr}`)
  t.equal(diff.stdout, '', 'no differences reported')
})

t.test('member names: saved paths without the leading /, directories with a trailing /', async t => {
  const r = tarshift(['restore', '-r', fx.savedir, 'latest'])
  t.equal(r.status, 0, showRun(r))
  const { status, names } = tarNames(r.stdout)
  t.equal(status, 0)
  const snap = snapshotTree(fx.src)
  // The saveset holds the ancestors of the saved path too (with their own metadata).
  const comps = fx.base.split('/')
  const ancestors = comps.slice(0, -1).map((_, i) => comps.slice(0, i + 1).join('/') + '/')
  const expected = [
    ...ancestors,
    ...snap.map(n => (n.path.length === 0 ? fx.base : `${fx.base}/${showPath(n.path)}`) + (n.type === 'dir' ? '/' : '')),
  ]
  t.same([...names].sort(), expected.sort(), 'one member per saved entry, no duplicates')
  t.notOk(names.some(n => n.startsWith('/')), 'no absolute member names')

  const lines = tarVerbose(r.stdout)
  const regular = (rel: string) => verboseLine(lines, `${fx.base}/${rel}`)
  // The walk meets dir/sub/trio-2 first (name-byte order): it carries the data.
  t.match(regular(P.trio[0]), /^-rw------- 0\/0 +31 /, 'first member of the trio carries the data')
  t.match(regular(P.trio[1]), new RegExp(`^hrw------- 0/0 +0 .* link to ${fx.base}/${P.trio[0]}$`))
  t.match(regular(P.trio[2]), new RegExp(`^hrw------- 0/0 +0 .* link to ${fx.base}/${P.trio[0]}$`))
  t.match(regular(P.pair[1]), new RegExp(`link to ${fx.base}/${P.pair[0]}$`))
  t.match(regular(P.bigNumbersDev), /^crw------- 0\/0 +300,70000 /)
})

t.test('--format gnu round-trips long and odd names, drops sub-second times and xattrs', async t => {
  const out = path.join(fx.dir, 'out-gnu')
  fs.mkdirSync(out)
  const r = await restoreToTar(['-r', fx.savedir, 'latest', '--format', 'gnu'], [...EXTRACT, '-C', out])
  t.equal(r.restore.status, 0, `restore exits 0; stderr: ${r.restore.stderr}`)
  t.equal(r.tar.status, 0, `tar exits 0; stderr: ${r.tar.stderr}`)
  t.notMatch(r.tar.stderr, /hdrcharset/, 'GNU format has no pax headers')
  t.match(r.restore.stderr, /note: --format gnu cannot carry sub-second mtime/, 'the loss of ns is noted')
  t.match(r.restore.stderr, /note: --format gnu cannot carry \d+ extended attribute/, 'the loss of xattrs is noted')
  // GNU tar keeps whole seconds (floor, also before 1970) and no xattrs in this format.
  assertSameTree(t, fx.src, path.join(out, fx.base), { mtimePrecision: 's', ignore: ['xattrs'], labels: ['source', 'restored'] })
})

t.test('tar --diff finds no difference, then names a file changed after the save', async t => {
  const pipeline = `set -o pipefail; ${TARSHIFT_SH} restore -r ${shQuote(fx.savedir)} latest ${shQuote(fx.src)} | tar --diff -f - -C /`
  const diff = () => spawnSync('bash', ['-c', pipeline], { env: TAR_ENV, encoding: 'utf8' })

  const same = diff()
  t.equal(same.status, 0, `unchanged tree: exit 0; stdout: ${same.stdout}; stderr: ${same.stderr}`)
  t.equal(same.stdout, '', 'no differences reported')
  t.same(unexpectedTarWarnings(same.stderr), [])

  // Same size, same mtime, other bytes: only a content comparison can see it.
  const changed = path.join(fx.src, P.regular)
  const mtimeNs = fs.statSync(changed, { bigint: true }).mtimeNs
  fs.writeFileSync(changed, 'HELLO, TARSHIFT\n')
  setMtimeNs(changed, mtimeNs)
  // And a mode change on another file.
  fs.chmodSync(path.join(fx.src, P.setuid), 0o755)

  const other = diff()
  t.equal(other.status, 1, `changed tree: exit 1 (differences); stderr: ${other.stderr}`)
  const lines = other.stdout.split('\n').filter(l => l.length > 0)
  t.same(lines.sort(), [`${fx.base}/${P.regular}: Contents differ`, `${fx.base}/${P.setuid}: Mode differs`], 'both files named, nothing else')
})
