// A save gives a directory's entries to its tree writer only once they differ from a reference
// tree's (save.ts, Frame): until then it lets them go, and at the first difference it takes
// the reference's first entries back (reading passed parts of a tree index again). Whatever
// the change and wherever it lies, and with checkpoints in between, the directory's tree must
// be exactly the tree a save without references writes.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir } from '../helpers/cli.js'
import { lookup, savedComponents } from '../../lib/restore/saveset-walk.js'
import { treeObjects } from '../../lib/tree/tree-store.js'
import { incSave, summaryById, withStoreOf } from '../helpers/run-cli-incremental.js'
import { readConfig } from '../../lib/repo/config.js'
import { dataPath } from '../../lib/repo/layout.js'
import { listSummaries } from '../../lib/repo/saveset.js'
import { save } from '../../lib/save/save.js'
import { chooseReferences } from '../../lib/save/references.js'
import { buildSelection } from '../../lib/save/source-paths.js'
import { WarningReporter } from '../../lib/save/warning-reporter.js'

const N = 3000
const name = (i: number): string => `file-with-a-long-name-${String(i).padStart(5, '0')}.txt`
const PAST = new Date('2020-01-02T03:04:05Z')

/**
 * <tmp>/src with big/ (N small files) and a small file, every file with an old mtime (so no
 * entry is racy, in any save of the test), and a savedir of 64 KiB chunks: "big" (~300 KiB of
 * entries) is a tree index of several parts.
 */
function bigFixture(t: Parameters<typeof tmpDirFor>[0], prefix: string): { dir: string; src: string; big: string; savedir: string; cache: string; bigTree: (id: string) => Promise<Buffer> } {
  const dir = tmpDirFor(t, prefix)
  const src = path.join(dir, 'src')
  const big = path.join(src, 'big')
  const many: Record<string, FixtureNode> = {}
  for (let i = 0; i < N; i++) many[name(i)] = { type: 'file', content: `content of ${i}\n` }
  buildTree(src, { type: 'dir', children: { big: { type: 'dir', children: many }, small: { type: 'file', content: 's' } } })
  for (const f of fs.readdirSync(big)) fs.utimesSync(path.join(big, f), PAST, PAST)
  fs.utimesSync(path.join(src, 'small'), PAST, PAST)
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const cache = path.join(tmpDirFor(t, `${prefix}cache-`), 'cache')
  const bigTree = async (id: string): Promise<Buffer> =>
    withStoreOf(savedir, async store => (await lookup(store, Buffer.from(summaryById(savedir, id).root as string, 'hex'), savedComponents(big)))?.tree as Buffer)
  return { dir, src, big, savedir, cache, bigTree }
}

t.test('deferred directories give the same trees as saves without references', async t => {
  const { dir, src, big, savedir, cache, bigTree: treeOf } = bigFixture(t, 'tarshift-inc-defer-')
  const age = (f: string): void => fs.utimesSync(f, PAST, PAST)
  const bigTree = async (id: string): Promise<string> => (await treeOf(id)).toString('hex')
  let fresh = 0
  /** The big directory's tree as a save without references (its own subset, no cache) writes it. */
  const referenceFree = async (): Promise<string> => bigTree(incSave(savedir, `fresh${++fresh}`, [src], path.join(dir, `nocache${fresh}`)).id)

  const s1 = incSave(savedir, 'd', [src], cache)
  const first = await bigTree(s1.id)
  const parts = await withStoreOf(savedir, store => treeObjects(store, Buffer.from(first, 'hex')))
  t.ok(parts.parts.length >= 3, `a tree index (${parts.parts.length} parts)`)

  const s2 = incSave(savedir, 'd', [src], cache)
  t.equal(s2.filesRead, 0, 'unchanged: no file read')
  t.equal(await bigTree(s2.id), first, 'unchanged: the reference tree')

  const s3 = incSave(savedir, 'd', [src, '--checkpoint-interval', '0.01s'], cache)
  t.ok(s3.checkpoints > 0, `checkpoints written (${s3.checkpoints})`)
  t.equal(await bigTree(s3.id), first, 'unchanged, with checkpoints: the reference tree')

  const write = (f: string, text: string) => (): void => {
    fs.writeFileSync(path.join(big, f), text)
    age(path.join(big, f))
  }
  const steps: Array<[string, () => void, string[]]> = [
    ['a file changed in the last part', write(name(N - 200), 'changed\n'), []],
    ['a file changed in the first part', write(name(10), 'changed too\n'), []],
    ['a file added after the last', write('zzz-new.txt', 'new\n'), []],
    ['the last file removed', () => fs.rmSync(path.join(big, 'zzz-new.txt')), []],
    ['the first file removed', () => fs.rmSync(path.join(big, name(0))), []],
    ['a file changed in the middle, with checkpoints', write(name(N / 2), 'changed again\n'), ['--checkpoint-interval', '0.01s']],
  ]
  let previous = first
  for (const [what, change, args] of steps) {
    change()
    const s = incSave(savedir, 'd', [src, ...args], cache)
    const got = await bigTree(s.id)
    t.not(got, previous, `${what}: a new tree`)
    t.equal(got, await referenceFree(), `${what}: the tree a save without references writes`)
    t.ok(s.filesRead <= 1, `${what}: at most the changed file read (${s.filesRead})`)
    previous = got
  }
})

t.test('a reference part gone before it is read back: the walk starts again, and the tree is right', async t => {
  const { dir, src, big, savedir, cache, bigTree } = bigFixture(t, 'tarshift-inc-defer-lost-')
  const s1 = incSave(savedir, 'd', [src], cache)
  const parts = (await withStoreOf(savedir, async store => treeObjects(store, await bigTree(s1.id)))).parts
  t.ok(parts.length >= 3, `a tree index (${parts.length} parts)`)
  const first = dataPath(savedir, (parts[0] as Buffer).toString('hex'))

  // In this process: the first part is removed once the walk has read it and reaches the file
  // changed in the last part, so it is gone when the save reads it back.
  const changed = path.join(big, name(N - 100))
  fs.writeFileSync(changed, 'changed\n')
  fs.utimesSync(changed, PAST, PAST)
  const lines: string[] = []
  let removed = false
  const host = summaryById(savedir, s1.id).host
  const r = await save({
    savedir, config: readConfig(savedir), subset: 'd', host,
    selection: buildSelection([Buffer.from(src)], true, '/'),
    reporter: new WarningReporter(false, l => lines.push(l)),
    references: chooseReferences(listSummaries(savedir), host, 'd'),
    onProgress: p => {
      if (removed || p.current?.toString() !== changed) return
      fs.rmSync(first)
      removed = true
    },
  })
  t.match(lines.join(''), /could not be read again .*saving again, checking every object/, 'a note says why the walk started again')
  t.ok(removed, 'the part was removed during the save')
  t.ok(fs.existsSync(first), 'the removed part was written again')
  const fresh = incSave(savedir, 'fresh', [src], path.join(dir, 'nocache'))
  t.same(await bigTree(r.summary.id), await bigTree(fresh.id), 'the tree a save without references writes')
  t.equal(r.summary.warnings, 0)
})
