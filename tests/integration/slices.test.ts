// Slices (doc/format.md §5.6): a save that rewrites a directory because some of its small
// files changed keeps the unchanged ones' bytes where they are, as slices of the earlier tree
// part, instead of writing them again. Shown here end to end with the real bin/tarshift and
// GNU tar: the savedir grows by the changed bytes only; restores, cat, diff and check read
// slices; expire keeps the parts that slices need, whatever it removes; a savedir of format
// version 2 gets none.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, setMtimeNs, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, tarshift, tarshiftOk, showRun, stableTmpDir } from '../helpers/cli.js'
import { restoredView, savedSubtree, withStore } from '../helpers/saved-tree.js'
import { dataPath } from '../../lib/repo/layout.js'
import { hoursAgoNs, incSave, assertRestores, summaryById } from '../helpers/run-cli-incremental.js'
import { markReachable } from '../../lib/expire/mark.js'
import { readTree } from '../../lib/tree/tree-store.js'
import { EntryType } from '../../lib/tree/entry.js'
import type { SavesetSummary } from '../../lib/repo/saveset.js'

const OLD = hoursAgoNs(5)
const FILES = 300

/** small/: 300 files of 2-12 KB (inline, 2.1 MB: a tree of parts at 2 MiB); small/sub/: a subdirectory. */
function tree(): FixtureNode {
  const small: Record<string, FixtureNode> = {}
  for (let i = 0; i < FILES; i++) small[`f${String(i).padStart(4, '0')}`] = { type: 'file', size: 2000 + ((i * 7919) % 10_000), seed: i, mtimeNs: OLD }
  small.sub = { type: 'dir', mtimeNs: OLD, children: { x: { type: 'file', content: 'a file below the sliced directory\n', mtimeNs: OLD } } }
  return { type: 'dir', mtimeNs: OLD, children: { small: { type: 'dir', mtimeNs: OLD, children: small } } }
}

function setup(t: Test, initArgs: string[] = []): { src: string; savedir: string; cache: string; out: string } {
  const dir = tmpDirFor(t, 'tarshift-slices-')
  const src = path.join(stableTmpDir(t, 'tarshift-slices'), 'src')
  buildTree(src, tree())
  return { src, savedir: newSavedir(t, initArgs), cache: path.join(dir, 'xdg-cache'), out: path.join(dir, 'out') }
}

/** Append a line to some files (their mtime old: not racy, but new). */
function change(src: string, names: string[], n: number): void {
  for (const name of names) {
    const f = path.join(src, 'small', name)
    fs.appendFileSync(f, `changed ${n}\n`)
    setMtimeNs(f, OLD + BigInt(n) * 1_000_000_000n)
  }
  setMtimeNs(path.join(src, 'small'), OLD + BigInt(n) * 1_000_000_000n)
}

function savedirBytes(savedir: string): number {
  let n = 0
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else n += fs.statSync(p).size
    }
  }
  walk(savedir)
  return n
}

t.test('a change of 3 small files in 300: slices, the savedir grows by kilobytes, every reader reads them', async t => {
  const s = setup(t)
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  const size1 = savedirBytes(s.savedir)
  change(s.src, ['f0010', 'f0150', 'f0290'], 1)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  const grew = savedirBytes(s.savedir) - size1
  t.equal(s2.filesRead, 3, 'the changed files read')
  t.ok(grew < 60_000, `the savedir grew by ${grew} bytes (the first save: ${size1})`)
  t.ok(s2.bytesNew < 60_000, `${s2.bytesNew} bytes new`)

  const root2 = summaryById(s.savedir, s2.id).root as string
  await withStore(s.savedir, async store => {
    const top = await readTree(store, Buffer.from(root2, 'hex'))
    t.ok(top.length > 0)
    let small: Buffer | undefined
    for (const c of s.src.split('/').filter(Boolean).concat('small')) {
      const e = (await readTree(store, small ?? Buffer.from(root2, 'hex'))).find(x => x.name.toString() === c)
      small = e?.tree
    }
    const entries = await readTree(store, small as Buffer)
    const files = entries.filter(e => e.type === EntryType.File)
    const sliced = files.filter(e => e.chunks?.length === 1 && e.chunks[0]?.offset !== undefined)
    const inline = files.filter(e => e.data !== undefined)
    t.equal(sliced.length, FILES - 3, 'the unchanged files are slices')
    t.same(inline.map(e => e.name.toString()).sort(), ['f0010', 'f0150', 'f0290'], 'the changed ones inline')
  })

  // Restore through GNU tar, cat, diff, check --read-data.
  assertRestores(t, s.savedir, s2.id, s.src, s.out)
  const cat = tarshift(['cat', '-r', s.savedir, s2.id, path.join(s.src, 'small', 'f0011')])
  t.equal(cat.status, 0, showRun(cat))
  t.ok(cat.stdout.equals(fs.readFileSync(path.join(s.src, 'small', 'f0011'))), 'cat gives a sliced file exact')
  const diff = tarshiftOk(['diff', '-r', s.savedir, s1.id, s2.id]).stdout.toString()
  t.same(diff.trim().split('\n').filter(l => l.startsWith('M ')).map(l => path.basename(l.split(' ')[1] as string)).sort(), ['f0010', 'f0150', 'f0290', 'small'],
    'diff names the changed files (and their directory, its mtime) only: a slice holding the same bytes as inline data is no change')
  const check = tarshift(['check', '-r', s.savedir, '--read-data'])
  t.equal(check.status, 0, `check --read-data: ${showRun(check)}`)

  // A second change: slices are carried over as they are, or made of the newer part.
  change(s.src, ['f0011', 'f0200'], 2)
  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s3.filesRead, 2)
  assertRestores(t, s.savedir, s3.id, s.src, s.out)

  // expire: only the newest stays; the earlier parts its slices need stay too.
  const ex = tarshift(['expire', '-r', s.savedir, '--keep-last', '1', '--grace', '0'])
  t.equal(ex.status, 0, showRun(ex))
  const after = tarshift(['check', '-r', s.savedir, '--read-data'])
  t.equal(after.status, 0, `check --read-data after expire: ${showRun(after)}`)
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})

t.test('expire marks a tree fully even when it first meets it as the object of a slice', async t => {
  // small/'s first tree is one saveset's directory and the next saveset's slices' object: marked
  // from the second saveset first, its subdirectory small/sub/ must still be marked.
  const s = setup(t, ['--chunk-size', '4M'])
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  change(s.src, ['f0001'], 1)
  fs.appendFileSync(path.join(s.src, 'small', 'sub', 'x'), 'changed\n')
  setMtimeNs(path.join(s.src, 'small', 'sub', 'x'), OLD + 3_000_000_000n)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  const summaries = [summaryById(s.savedir, s2.id), summaryById(s.savedir, s1.id)] as SavesetSummary[]
  await withStore(s.savedir, async store => {
    const view = await restoredView(store, summaries[1]?.root as string, path.join(s.src, 'small', 'sub'))
    t.equal(view.length, 2)
    const { marked } = await markReachable(store, summaries)
    // Every tree of the first saveset is marked, small/sub's included.
    const trees: string[] = []
    const walk = async (h: Buffer): Promise<void> => {
      trees.push(h.toString('hex'))
      for (const e of await readTree(store, h)) if (e.tree) await walk(e.tree)
    }
    await walk(Buffer.from(summaries[1]?.root as string, 'hex'))
    t.same(trees.filter(h => !marked.has(h)), [], `all ${trees.length} trees of the first saveset marked`)
  })
})

t.test('format version 2: no slices; the changed directory is written whole', async t => {
  const s = setup(t)
  const f = path.join(s.savedir, 'tarshift.json')
  fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), version: 2 }))
  incSave(s.savedir, 'c', [s.src], s.cache)
  const size1 = savedirBytes(s.savedir)
  change(s.src, ['f0010'], 1)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  const grew = savedirBytes(s.savedir) - size1
  // A part holds at least treeParts.min (512 KiB), each entry counted 1 KiB more: here ~450 KB.
  t.ok(grew > 300_000, `the savedir grew by ${grew} bytes: the inline data of the changed file's part written again`)
  await withStore(s.savedir, async store => {
    const view = await restoredView(store, summaryById(s.savedir, s2.id).root as string, s.src)
    t.ok(view.length > FILES)
  })
  assertRestores(t, s.savedir, s2.id, s.src, s.out)
})

t.test("a slice's object gone: the files that need it are named and left out, check names the object", async t => {
  const s = setup(t)
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  change(s.src, ['f0007'], 1)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  const source = await withStore(s.savedir, async store => {
    const items = await savedSubtree(store, summaryById(s.savedir, s2.id).root as string, path.join(s.src, 'small', 'f0008'))
    return items[0]?.entry.chunks?.[0]
  })
  if (source?.offset === undefined) throw new Error('f0008 is no slice')
  fs.rmSync(dataPath(s.savedir, source.hash.toString('hex')))
  const r = tarshift(['restore', '-r', s.savedir, s2.id, path.join(s.src, 'small', 'f0008')])
  t.not(r.status, 0, 'the restore fails')
  t.match(r.stderr.toString(), new RegExp(`f0008: data object ${source.hash.toString('hex')} is missing; file not restored`), 'and names the file and the object')
  const check = tarshift(['check', '-r', s.savedir])
  t.not(check.status, 0, 'check finds it')
  t.match(check.stdout.toString() + check.stderr.toString(), new RegExp(source.hash.toString('hex')), 'and names the object')
  t.ok(s1.id)
})

t.test('after an expire (the local cache starts empty) the trees read from the savedir give slices too', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  change(s.src, ['f0001'], 1)
  incSave(s.savedir, 'c', [s.src], s.cache)
  const ex = tarshift(['expire', '-r', s.savedir, '--keep-last', '1', '--grace', '0'])
  t.equal(ex.status, 0, showRun(ex))
  t.match(ex.stdout.toString() + ex.stderr.toString(), /removed 1 saveset/, 'one saveset removed: a new generation')
  const size1 = savedirBytes(s.savedir)
  change(s.src, ['f0100', 'f0200'], 2)
  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s3.treesFromSummaries, 0, 'no summaries: the cache was dropped')
  t.ok(s3.treesRead > 0, `reference trees read from the savedir (${s3.treesRead})`)
  const grew = savedirBytes(s.savedir) - size1
  t.ok(grew < 60_000, `the savedir grew by ${grew} bytes: slices`)
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
  const check = tarshift(['check', '-r', s.savedir, '--read-data'])
  t.equal(check.status, 0, `check --read-data: ${showRun(check)}`)
})

/**
 * Saveset `id`, saved after some of small/'s files changed: the savedir grew by kilobytes from
 * `grownFrom` bytes, its `unchanged` files of small/ are slices, and it restores and checks.
 */
async function assertSlicedSave(t: Test, s: ReturnType<typeof setup>, id: string, grownFrom: number, unchanged: number): Promise<void> {
  const grew = savedirBytes(s.savedir) - grownFrom
  t.ok(grew < 60_000, `the savedir grew by ${grew} bytes: slices, not the 2 MB of inline data again`)
  const sliced = await withStore(s.savedir, async store => {
    const items = await savedSubtree(store, summaryById(s.savedir, id).root as string, path.join(s.src, 'small'))
    return items.filter(i => i.entry.chunks?.some(c => c.offset !== undefined)).length
  })
  t.equal(sliced, unchanged, 'every unchanged file is a slice')
  assertRestores(t, s.savedir, id, s.src, s.out)
  const check = tarshift(['check', '-r', s.savedir, '--read-data'])
  t.equal(check.status, 0, `check --read-data: ${showRun(check)}`)
}

t.test('--no-cache: the reference trees read from the savedir give slices', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  const size1 = savedirBytes(s.savedir)
  change(s.src, ['f0002', 'f0250'], 1)
  const s2 = incSave(s.savedir, 'c', ['--no-cache', s.src], s.cache)
  t.equal(s2.treesFromSummaries, 0, 'no summaries used')
  t.ok(s2.treesRead > 0, `reference trees read from the savedir (${s2.treesRead})`)
  await assertSlicedSave(t, s, s2.id, size1, FILES - 2)
})

t.test('a second walk (the local cache found wrong) gives slices too', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  // A tree the cache vouches for is removed behind its back (no new generation).
  const sub = await withStore(s.savedir, async store => (await savedSubtree(store, summaryById(s.savedir, s2.id).root as string, path.join(s.src, 'small', 'sub')))[0]?.entry.tree)
  if (sub === undefined) throw new Error('small/sub has no tree')
  fs.rmSync(dataPath(s.savedir, sub.toString('hex')))
  const size1 = savedirBytes(s.savedir)
  change(s.src, ['f0003'], 1)
  const r = tarshift(['save', '-r', s.savedir, '--subset', 'c', '--progress', 'none', '--json', s.src], { env: { XDG_CACHE_HOME: s.cache } })
  t.equal(r.status, 0, showRun(r))
  t.match(r.stderr, /saving again, checking every object/, 'the walk started again, reading trees from the savedir')
  await assertSlicedSave(t, s, (JSON.parse(r.stdout.toString()) as { id: string }).id, size1, FILES - 1)
})
