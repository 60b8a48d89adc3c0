// Tree summaries (lib/tree/tree-summary.ts) in real saves: an unchanged save reads no tree
// from the savedir; a save that changes some of many inline files writes the same trees as a
// save that reads every file (--force-read --no-cache), checkpoints included, hardlinks too;
// and a summary whose tree was removed by hand costs a second walk, never a wrong tree.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, setMtimeNs, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, showRun, stableTmpDir, tarshift } from '../helpers/cli.js'
import { withStore, savedSubtree, restoredView } from '../helpers/saved-tree.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { decodeTree } from '../../lib/tree/tree-codec.js'
import { dataPath } from '../../lib/repo/layout.js'
import { hoursAgoNs, incSave, objectKinds, assertRestores, summaryById } from '../helpers/run-cli-incremental.js'

const OLD = hoursAgoNs(5)

/**
 * Many inline files of many lengths (some at most 64 bytes: kept in summaries), hardlinks, a
 * chunked file; many/ is large enough for a tree index of parts at a 1 MiB maximum chunk.
 */
function inlineTree(): FixtureNode {
  const many: Record<string, FixtureNode> = {}
  for (let i = 0; i < 400; i++) many[`f${String(i).padStart(4, '0')}`] = { type: 'file', size: [0, 20, 64, 65, 900, 7000, 15_000][i % 7] as number, seed: i, mtimeNs: OLD }
  many.linked = { type: 'hardlink', to: 'many/f0005' }
  const deep: Record<string, FixtureNode> = {}
  for (let i = 0; i < 30; i++) deep[`g${i}`] = { type: 'file', size: 100 + 37 * i, seed: 1000 + i, mtimeNs: OLD }
  deep.linkout = { type: 'hardlink', to: 'many/f0012' }
  return {
    type: 'dir',
    mtimeNs: OLD,
    children: {
      many: { type: 'dir', mtimeNs: OLD, children: many },
      deep: { type: 'dir', mtimeNs: OLD, children: { a: { type: 'dir', mtimeNs: OLD, children: { b: { type: 'dir', mtimeNs: OLD, children: deep } } } } },
      'big.bin': { type: 'file', size: 700 * 1024, seed: 99, mtimeNs: OLD },
    },
  }
}

interface Setup {
  src: string
  savedir: string
  cache: string
  out: string
}

function setup(t: Test): Setup {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const src = path.join(stableTmpDir(t, 'tarshift-summaries'), 'src')
  buildTree(src, inlineTree())
  return { src, savedir: newSavedir(t, ['--chunk-size', '256K']), cache: path.join(dir, 'xdg-cache'), out: path.join(dir, 'out') }
}

/** Rewrite a file with other bytes of the same length, its mtime old (not racy) but new. */
function rewrite(file: string, seed: number): void {
  const len = fs.statSync(file).size
  const b = Buffer.alloc(len)
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seed) & 0xff
  fs.writeFileSync(file, b)
  setMtimeNs(file, OLD + BigInt(seed) * 1_000_000_000n)
}

/** Every tree object in the savedir: each file's inline data is as long as the file (no placeholder written as empty data). */
async function inlineDataWhole(t: Test, savedir: string): Promise<void> {
  let trees = 0
  let bad = 0
  await withStore(savedir, async store => {
    for (const [hash, kind] of objectKinds(savedir)) {
      if (kind !== ObjectKind.Tree) continue
      trees++
      for (const e of decodeTree((await store.get(hash)).data)) if (e.data !== undefined && e.data.length !== e.size) bad++
    }
  })
  t.equal(bad, 0, `in all ${trees} trees of the savedir, inline data is whole`)
}

/** A save reading every file, trusting no cache: the trees as they must be. */
function truthRoot(s: Setup): string {
  const r = incSave(s.savedir, 'truth', ['--force-read', '--no-cache', s.src], s.cache)
  return summaryById(s.savedir, r.id).root as string
}

/**
 * The saveset holds the same entries, the same bytes, as a save that read every file. Not the
 * same trees: the unchanged files' bytes taken from summaries are slices of the earlier trees
 * (doc/format.md §5.6), where a save reading every file puts them inline.
 */
async function sameAsTruth(t: Test, s: Setup, id: string): Promise<void> {
  const truth = truthRoot(s)
  const root = summaryById(s.savedir, id).root as string
  t.not(root, truth, 'other trees than a save that read every file (slices)')
  await withStore(s.savedir, async store => {
    t.same(await restoredView(store, root, s.src), await restoredView(store, truth, s.src), 'the same entries and bytes as a save that read every file')
  })
}

t.test('an unchanged save reads its reference trees from summaries, none from the savedir', async t => {
  const s = setup(t)
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 0, 'nothing read')
  t.equal(s2.objectsNew, 0, 'nothing written (hardlinked inline files compare by digest)')
  t.equal(s2.treesRead, 0, 'no tree read from the savedir')
  t.ok(s2.treesFromSummaries >= 5, `trees from summaries (${s2.treesFromSummaries})`)
  t.equal(summaryById(s.savedir, s2.id).root, summaryById(s.savedir, s1.id).root, 'the same root')
  const s3 = incSave(s.savedir, 'c', ['--no-cache', s.src], s.cache)
  t.ok(s3.treesRead >= 5 && s3.treesFromSummaries === 0, `--no-cache: trees read from the savedir (${s3.treesRead})`)
  t.equal(summaryById(s.savedir, s3.id).root, summaryById(s.savedir, s1.id).root, 'the same root without the cache')
})

t.test('some of many inline files changed: the same trees as a save that reads every file', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  incSave(s.savedir, 'c', [s.src], s.cache)
  rewrite(path.join(s.src, 'many', 'f0100'), 1)
  rewrite(path.join(s.src, 'many', 'f0005'), 2) // hardlinked as many/linked
  rewrite(path.join(s.src, 'deep', 'a', 'b', 'g7'), 3)
  fs.rmSync(path.join(s.src, 'many', 'f0200'))
  fs.writeFileSync(path.join(s.src, 'many', 'f0150x'), 'a new file, longer than sixty-four bytes, so inline and cut from summaries')
  setMtimeNs(path.join(s.src, 'many', 'f0150x'), OLD)
  setMtimeNs(path.join(s.src, 'many'), OLD + 9_000_000_000n)
  const dry = incSave(s.savedir, 'c', ['--dry-run', s.src], s.cache)
  t.equal(dry.treesRead, 0, 'a dry run reads the summaries too')
  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.ok([...objectKinds(s.savedir).values()].includes(ObjectKind.TreeIndex), 'a directory was split into parts (a tree index)')
  t.equal(s3.treesRead, 0, 'the reference trees came from summaries')
  t.equal(s3.filesRead, 4, 'the changed files read (the hardlink once), and the new one')
  await sameAsTruth(t, s, s3.id)
  await withStore(s.savedir, async store => {
    const items = await savedSubtree(store, summaryById(s.savedir, s3.id).root as string, path.join(s.src, 'many'))
    const linked = items.find(i => i.rel.toString() === 'linked')
    t.same(linked?.entry.data, fs.readFileSync(path.join(s.src, 'many', 'f0005')), 'the hardlink holds the new bytes')
  })
  await inlineDataWhole(t, s.savedir)
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})

t.test('checkpoints while summaries stand in for inline data: whole trees', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  rewrite(path.join(s.src, 'many', 'f0003'), 4)
  rewrite(path.join(s.src, 'many', 'f0230'), 5)
  // An interval of 0: a checkpoint before every entry, however fast the save.
  const s2 = incSave(s.savedir, 'c', ['--checkpoint-interval', '0s', s.src], s.cache)
  t.ok(s2.checkpoints >= 10, `checkpoints written (${s2.checkpoints})`)
  t.equal(s2.treesRead, 0, 'from summaries')
  await sameAsTruth(t, s, s2.id)
  await inlineDataWhole(t, s.savedir)
})

t.test('a changed directory whose tree was removed by hand: a second walk, the right trees', async t => {
  const s = setup(t)
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  const dir = path.join(s.src, 'deep', 'a', 'b')
  const tree = await withStore(s.savedir, async store => {
    const items = await savedSubtree(store, summaryById(s.savedir, s1.id).root as string, dir)
    return items[0]?.entry.tree?.toString('hex')
  })
  if (tree === undefined) throw new Error('no tree for deep/a/b/')
  t.equal(objectKinds(s.savedir).get(tree), ObjectKind.Tree, 'a single tree (no index)')
  fs.rmSync(dataPath(s.savedir, tree))
  rewrite(path.join(dir, 'g11'), 6)
  const r = tarshift(['save', '-r', s.savedir, '--subset', 'c', '--progress', 'none', '--json', s.src], { env: { XDG_CACHE_HOME: s.cache }, timeout: 300_000 })
  t.equal(r.status, 0, `the save succeeds: ${showRun(r)}`)
  // Found missing when its data is read (a summary's placeholder), or when a slice of it is
  // checked (the cache's word checked after the walk): either way the save walks again.
  t.match(r.stderr, /(could not be read|missing from the savedir).*saving again/, 'with a note that it walked again')
  const id = (JSON.parse(r.stdout.toString()) as { id: string }).id
  t.equal(summaryById(s.savedir, id).root, truthRoot(s), 'the same root as a save that read every file')
  assertRestores(t, s.savedir, id, s.src, s.out)
})
