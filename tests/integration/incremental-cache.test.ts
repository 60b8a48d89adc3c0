// The local cache is a hint (DESIGN.md §6): deleting it changes nothing but time, and a cache
// that believes in an object the savedir no longer has (removed by expire, which bumps the
// generation, or removed by anything else) never makes a save reference a missing object.
// Last-use times and the cache: incremental-lastuse.test.ts.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor } from '../helpers/fixture-tree.js'
import { newSavedir, stableTmpDir, tarshift } from '../helpers/cli.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { readConfig } from '../../lib/repo/config.js'
import { lookup, savedComponents } from '../../lib/restore/saveset-walk.js'
import { withStore } from '../helpers/saved-tree.js'
import { readGeneration } from '../../lib/repo/generation.js'
import { dataPath, timePath } from '../../lib/repo/layout.js'
import { chunkedAndSmallTree, chunksOfFile, incSave, objectKinds, reachOf, assertRestores, summaryById } from '../helpers/run-cli-incremental.js'



interface Setup {
  src: string
  savedir: string
  cache: string
  out: string
}

function setup(t: Test, stable = false): Setup {
  const dir = tmpDirFor(t, 'tarshift-inc-cache-')
  const src = path.join(stable ? stableTmpDir(t, 'tarshift-inc-cache') : dir, 'src')
  buildTree(src, chunkedAndSmallTree())
  return { src, savedir: newSavedir(t, ['--chunk-size', '256K']), cache: path.join(dir, 'xdg-cache'), out: path.join(dir, 'out') }
}

/** Removes an object's .data (and .time), as expire would. */
function removeObject(savedir: string, hash: string): void {
  fs.rmSync(dataPath(savedir, hash))
  fs.rmSync(timePath(savedir, hash), { force: true })
}

t.test('without its cache directory the next save produces the identical root and restores', async t => {
  const s = setup(t, true)
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 0)
  const repoId = readConfig(s.savedir).id
  const cacheDir = path.join(s.cache, 'tarshift', repoId)
  t.ok(fs.existsSync(cacheDir), 'the cache lives in $XDG_CACHE_HOME/tarshift/<repo id>')
  fs.rmSync(cacheDir, { recursive: true })
  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s3.filesRead, 0, 'nothing read: the references, not the cache, say what is unchanged')
  t.equal(s3.objectsNew, 0, 'nothing stored')
  t.equal(summaryById(s.savedir, s3.id).root, summaryById(s.savedir, s2.id).root, 'identical root tree hash')
  t.equal(summaryById(s.savedir, s3.id).root, summaryById(s.savedir, s1.id).root, 'as the first save')
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})

t.test('a cache from an older generation is dropped: a chunk removed (generation bumped) is stored again', async t => {
  const s = setup(t)
  const keep1 = path.join(s.src, 'big', 'keep1.bin')
  incSave(s.savedir, 'c', [s.src], s.cache)
  // The second save reuses keep1.bin: its chunks go into the cache as known.
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 0)
  const chunks = await chunksOfFile(s.savedir, s2.id, keep1)
  t.ok(chunks.length >= 2, `keep1.bin has several chunks (${chunks.length})`)
  const victim = chunks[1] as string
  removeObject(s.savedir, victim)
  const gen = readGeneration(s.savedir)
  fs.writeFileSync(path.join(s.savedir, 'generation'), `${gen + 1}\n`)

  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s3.filesRead, 1, 'the file whose chunk is gone is read again')
  t.ok(fs.existsSync(dataPath(s.savedir, victim)), 'the removed chunk exists again')
  t.equal(objectKinds(s.savedir).get(victim), ObjectKind.Data, 'as a data chunk')
  t.ok(s3.objectsNew >= 1, 'it was stored by this save')
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})

t.test('a chunk removed WITHOUT a generation bump is noticed despite the cache, and stored again', async t => {
  const s = setup(t)
  const keep1 = path.join(s.src, 'big', 'keep1.bin')
  const keep2 = path.join(s.src, 'big', 'keep2.bin')
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)

  // (a) The chunk was written new by s1, which recorded it in the cache.
  const first = (await chunksOfFile(s.savedir, s1.id, keep2))[0] as string
  removeObject(s.savedir, first)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 1, '(a) the file is read again')
  t.ok(fs.existsSync(dataPath(s.savedir, first)), '(a) its chunk is stored again')

  // (b) The cache knows the chunk: s2 reused keep1.bin and recorded its chunks as touched.
  const victim = (await chunksOfFile(s.savedir, s2.id, keep1))[1] as string
  t.ok(victim, 'keep1.bin has a second chunk')
  removeObject(s.savedir, victim)
  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  // If this fails, the save referenced an object that does not exist: a saveset that cannot
  // be restored, silently. DATA LOSS.
  t.equal(s3.filesRead, 1, '(b) the file whose chunk is gone is read again although the cache knows the chunk')
  t.ok(fs.existsSync(dataPath(s.savedir, victim)), '(b) the removed chunk exists again')
  const missing = [...(await reachOf(s.savedir, s3.id)).chunks].filter(h => !fs.existsSync(dataPath(s.savedir, h)))
  t.same(missing, [], 'the new saveset references no missing object')
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})

/** The tree object of the saved directory at absolute path `abs` in saveset `id`. */
async function treeOfDir(savedir: string, id: string, abs: string): Promise<string> {
  const root = Buffer.from(summaryById(savedir, id).root as string, 'hex')
  const e = await withStore(savedir, store => lookup(store, root, savedComponents(abs)))
  if (!e?.tree) throw new Error(`${abs} is not a saved directory in ${id}`)
  return e.tree.toString('hex')
}

function saveWithStderr(s: Setup): { status: number | null; stdout: string; stderr: string } {
  const r = tarshift(['save', '-r', s.savedir, '--subset', 'c', '--progress', 'none', '--json', s.src], { env: { XDG_CACHE_HOME: s.cache } })
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}

function missingObjects(savedir: string, reach: { trees: Set<string>; chunks: Set<string> }): string[] {
  return [...reach.trees, ...reach.chunks].filter(h => !fs.existsSync(dataPath(savedir, h)))
}

t.test('a tree removed WITHOUT a generation bump: the save notices, walks again checking every object, and restores', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  const small = await treeOfDir(s.savedir, s2.id, path.join(s.src, 'small'))
  removeObject(s.savedir, small)
  const r = saveWithStderr(s)
  t.equal(r.status, 0, `save: ${r.stderr}`)
  t.match(r.stderr, /missing from the savedir .*saving again, checking every object/, 'a note says the cache was wrong and the walk starts again')
  const s3 = JSON.parse(r.stdout) as { id: string; filesRead: number }
  t.ok(fs.existsSync(dataPath(s.savedir, small)), 'the removed tree exists again')
  t.same(missingObjects(s.savedir, await reachOf(s.savedir, s3.id)), [], 'the new saveset references no missing object')
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})

t.test('a savedir put back from an older copy: the cache is dropped, nothing missing is referenced', async t => {
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  const copy = `${s.savedir}.copy`
  fs.cpSync(s.savedir, copy, { recursive: true, preserveTimestamps: true })
  t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }))
  // A later save writes new objects (a changed file, new trees) and records them in the cache.
  const changed = path.join(s.src, 'small', 'b.txt')
  fs.appendFileSync(changed, 'more\n')
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.ok(s2.objectsNew >= 2, `the second save wrote new objects (${s2.objectsNew})`)
  // The savedir goes back to the copy: the second save and its objects are gone.
  fs.rmSync(s.savedir, { recursive: true })
  fs.renameSync(copy, s.savedir)
  const r = saveWithStderr(s)
  t.equal(r.status, 0, `save: ${r.stderr}`)
  t.match(r.stderr, new RegExp(`lacks saveset ${s2.id}.*local cache is dropped`), 'a note says the cache is dropped, naming the missing saveset')
  t.notMatch(r.stderr, /saving again/, 'so the walk did not need a second pass')
  const s3 = JSON.parse(r.stdout) as { id: string }
  t.same(missingObjects(s.savedir, await reachOf(s.savedir, s3.id)), [], 'the new saveset references no missing object')
  assertRestores(t, s.savedir, s3.id, s.src, s.out)
})
