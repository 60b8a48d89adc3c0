// What a restore emits (DESIGN.md §2 "Hardlinks", §7): PATHs select subtrees; a hardlink group's
// data goes out once, with the first member met *within what is restored* (even when the
// group's first path in the saveset lies outside); overlapping PATHs do not duplicate members;
// --prefix and --strip-components rename members and the hardlink targets with them;
// --format ustar leaves out, names and counts what it cannot hold, and the stream stays whole.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { FULL } from '../helpers/fixture-tree.js'
import { assertSameTree } from '../helpers/compare-trees.js'
import { hardlinkGroups, snapshotTree } from '../helpers/tree-snapshot.js'
import { showRun, tarshift } from '../helpers/cli.js'
import { EXTRACT, componentCount, savedFullFixture, tarNames, tarOn, tarVerbose, verboseLine } from '../helpers/restore-run.js'

const P = FULL.paths
const fx = savedFullFixture(t, 100_000)
const at = (rel: string): string => path.join(fx.src, rel)
const TRIO = 'three names, three directories\n'
const PAIR = 'two names, one directory\n'

function restore(args: string[]): Buffer {
  const r = tarshift(['restore', '-r', fx.savedir, 'latest', ...args])
  if (r.status !== 0) throw new Error(`restore ${args.join(' ')}: ${showRun(r)}`)
  return r.stdout
}

function extract(stream: Buffer, name: string): string {
  const out = path.join(fx.dir, name)
  fs.mkdirSync(out)
  const r = tarOn(stream, [...EXTRACT, '-C', out])
  if (r.status !== 0) throw new Error(`tar -x: ${r.stderr}`)
  return out
}

function occurrences(hay: Buffer, needle: string): number {
  let n = 0
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++
  return n
}

t.test("a subdirectory whose hardlink group starts outside it carries the group's data", async t => {
  const stream = restore([at('hardlinks')])
  const lines = tarVerbose(stream)
  const h = `${fx.base}/hardlinks`
  t.equal(lines.length, 4, 'the directory and its three entries, nothing else')
  t.match(verboseLine(lines, `${h}/`), /^drwxr-xr-x /)
  // In the saveset the trio's first path is dir/sub/trio-2, outside this restore.
  t.match(verboseLine(lines, `${h}/trio-1`), /^-rw------- 0\/0 +31 /, 'trio-1 is a regular member with the data')
  t.match(verboseLine(lines, `${h}/pair-a`), /^-rw-r--r-- 0\/0 +25 /)
  t.match(verboseLine(lines, `${h}/pair-b`), new RegExp(`^hrw-r--r-- 0/0 +0 .* ${h}/pair-b link to ${h}/pair-a$`))
  t.equal(occurrences(stream, TRIO), 1, "the trio's data is in the stream once")
  t.equal(occurrences(stream, PAIR), 1, "the pair's data is in the stream once")

  const out = extract(stream, 'out-hardlinks')
  const restored = path.join(out, h)
  t.equal(fs.readFileSync(path.join(restored, 'trio-1'), 'utf8'), TRIO)
  t.equal(fs.statSync(path.join(restored, 'trio-1')).mode & 0o7777, 0o600)
  t.same(hardlinkGroups(snapshotTree(restored)), [['pair-a', 'pair-b']], 'the pair shares an inode')
  assertSameTree(t, at('hardlinks'), restored, { labels: ['source', 'restored'] })
})

t.test('two PATHs: later members of a group link to the first one restored', async t => {
  const stream = restore([at('hardlinks'), at(P.trio[2])])
  const lines = tarVerbose(stream)
  t.match(verboseLine(lines, `${fx.base}/${P.trio[2]}`), new RegExp(`^hrw------- .* link to ${fx.base}/hardlinks/trio-1$`))
  t.equal(occurrences(stream, TRIO), 1)
  const out = extract(stream, 'out-two-paths')
  const groups = hardlinkGroups(snapshotTree(path.join(out, fx.base)))
  t.same(groups, [['hardlinks/pair-a', 'hardlinks/pair-b'], ['hardlinks/trio-1', 'trio-3']])
  t.equal(fs.readFileSync(path.join(out, fx.base, P.trio[2]), 'utf8'), TRIO)
})

t.test('overlapping PATHs write each member once (no hardlink to itself)', async t => {
  const stream = restore([at(P.pair[1]), at('hardlinks'), at('hardlinks'), `${fx.src}/hardlinks/`])
  const { status, names } = tarNames(stream)
  t.equal(status, 0)
  t.same(names, ['hardlinks/', 'hardlinks/pair-a', 'hardlinks/pair-b', 'hardlinks/trio-1'].map(n => `${fx.base}/${n}`))
  const lines = tarVerbose(stream)
  t.notOk(lines.some(l => /(\S+) link to \1$/.test(l)), 'no member links to itself')
})

t.test('a PATH without a leading / is taken from /', async t => {
  const { names } = tarNames(restore([`${fx.base}/${P.regular}`]))
  t.same(names, [`${fx.base}/${P.regular}`])
})

t.test('--prefix puts every member, and every hardlink target, under DIR/', async t => {
  const stream = restore(['--prefix', '/restored/'])
  const { status, names } = tarNames(stream)
  t.equal(status, 0)
  t.ok(names.length > 40)
  t.same(names.filter(n => !n.startsWith('restored/')), [], 'every member is under restored/')
  const lines = tarVerbose(stream)
  t.match(verboseLine(lines, `restored/${fx.base}/${P.trio[2]}`), new RegExp(`link to restored/${fx.base}/${P.trio[0]}$`))
  const out = extract(stream, 'out-prefix')
  assertSameTree(t, fx.src, path.join(out, 'restored', fx.base), { labels: ['source', 'restored'] })
})

t.test('--strip-components drops leading components, hardlink targets follow', async t => {
  const k = componentCount(fx.src)
  const stream = restore(['--strip-components', String(k)])
  const { names } = tarNames(stream)
  // The saved path's own entry and its ancestors have k components or fewer: they go.
  t.notOk(names.some(n => n.startsWith(fx.base)), 'no member keeps the stripped components')
  t.ok(names.includes('hardlinks/pair-a') && names.includes('dir/'), 'members are relative to the saved path')
  t.match(verboseLine(tarVerbose(stream), P.trio[2]), new RegExp(`^h.* link to ${P.trio[0]}$`))
  const out = extract(stream, 'out-strip')
  // The extraction dir stands in for the stripped root.
  assertSameTree(t, fx.src, out, { skipRoot: true, labels: ['source', 'restored'] })

  // With --prefix: the saved tree lands at DIR exactly.
  const out2 = extract(restore(['--strip-components', String(k), '--prefix', 'new']), 'out-strip-prefix')
  assertSameTree(t, fx.src, path.join(out2, 'new'), { skipRoot: true, labels: ['source', 'restored'] })
})

t.test('--strip-components drops the member that would carry a group: the next one does', async t => {
  const k = componentCount(fx.src)
  // trio-3 is met first here, but has exactly k+1 components: stripped away entirely.
  const stream = restore([at(P.trio[2]), at('hardlinks'), '--strip-components', String(k + 1)])
  const lines = tarVerbose(stream)
  t.same(lines.map(l => l.replace(/^.* \d\d:\d\d /, '')), ['pair-a', 'pair-b link to pair-a', 'trio-1'])
  t.match(verboseLine(lines, 'trio-1'), /^-rw------- 0\/0 +31 /, 'trio-1 carries the data')
  const out = extract(stream, 'out-strip-first')
  t.equal(fs.readFileSync(path.join(out, 'trio-1'), 'utf8'), TRIO)
  t.equal(fs.readFileSync(path.join(out, 'pair-b'), 'utf8'), PAIR)
})

t.test('--format ustar: what fits round-trips to the second', async t => {
  // Short names, no xattrs, mtimes after 1970: all of it fits ustar.
  const parts = ['hardlinks', 'special', 'sticky', P.setuid, P.mode000, P.owned, P.trio[2]]
  const r = tarshift(['restore', '-r', fx.savedir, 'latest', '--format', 'ustar', ...parts.map(at)])
  t.equal(r.status, 0, showRun(r))
  t.match(r.stderr, /note: --format ustar cannot carry sub-second mtime/)
  const out = extract(r.stdout, 'out-ustar')
  for (const p of parts) {
    assertSameTree(t, at(p), path.join(out, fx.base, p), { mtimePrecision: 's', labels: ['source', 'restored'] }, `${p} restored`)
  }
  t.same(hardlinkGroups(snapshotTree(path.join(out, fx.base))), [['hardlinks/pair-a', 'hardlinks/pair-b'], ['hardlinks/trio-1', 'trio-3']])
})

t.test('--format ustar leaves out and names what it cannot hold; the stream stays whole', async t => {
  const r = tarshift(['restore', '-r', fx.savedir, 'latest', '--format', 'ustar'])
  t.equal(r.status, 2, 'exit 2: members are missing from the stream')
  const refused = [...r.stderr.matchAll(/^tarshift: error: \/(.*): --format ustar cannot hold (.*); left out of the stream/gm)]
  const refusedPaths = refused.map(m => m[1] as string)
  for (const [rel, why] of [
    [P.xattrs, /extended attribute/],
    ['dir', /extended attribute/],
    [P.longTarget, /link target of 500 bytes/],
    [P.pre1970, /mtime before 1970/],
    ['times/dir-pre-1970', /mtime before 1970/],
    [P.long, /a name of \d+ bytes/],
  ] as const) {
    const m = refused.find(x => x[1] === `${fx.base}/${rel}`)
    t.ok(m, `${rel} is named as left out`)
    t.match(m?.[2], why)
  }
  t.match(r.stderr, new RegExp(`tarshift: ${refused.length} member\\(s\\) left out: --format ustar cannot hold them`))

  // The stream is complete: tar lists it without error, every member but those named.
  const { status, names, stderr } = tarNames(r.stdout)
  t.equal(status, 0, `tar -tf reads the whole stream; ${stderr}`)
  const all = tarNames(restore([])).names
  const left = new Set(refusedPaths)
  t.same(names, all.filter(n => !left.has(n.replace(/\/$/, ''))), 'every other member is there, in order')
})
