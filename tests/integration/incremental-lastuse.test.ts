// Last-use times (DESIGN.md §4, §6): every object a new saveset references (file chunks and
// trees, also those of a reused unchanged subtree) ends the save with a last-use time (the newer
// of its .data and .time mtimes) no older than the refresh interval, 1 day; objects it does not
// reference are left alone; and the local cache, which spares the save those stats, never lets
// a referenced object go stale, not even after a --dry-run.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import assert from 'node:assert/strict'
import { crc32 } from 'node:zlib'
import { buildTree, tmpDirFor } from '../helpers/fixture-tree.js'
import { newSavedir } from '../helpers/cli.js'
import { readConfig } from '../../lib/repo/config.js'
import { dataPath, timePath } from '../../lib/repo/layout.js'
import {
  chunkedAndSmallTree, chunksOfFile, incSave, lastUseMs, objectKinds, reachOf, setObjectTimes, shiftObjectTimes,
} from '../helpers/run-cli-incremental.js'

const HOUR = 3600 * 1000
const DAY = 24 * HOUR


function setup(t: Test): { src: string; savedir: string; cache: string } {
  const dir = tmpDirFor(t, 'tarshift-inc-lastuse-')
  const src = path.join(dir, 'src')
  buildTree(src, chunkedAndSmallTree())
  return { src, savedir: newSavedir(t, ['--chunk-size', '256K']), cache: path.join(dir, 'xdg-cache') }
}

/** Objects reachable from saveset `id` whose last-use time is older than a day, with their age. */
async function staleObjects(savedir: string, id: string): Promise<string[]> {
  const r = await reachOf(savedir, id)
  const now = Date.now()
  return [...r.trees, ...r.chunks]
    .map(h => [h, lastUseMs(savedir, h) ?? 0] as const)
    .filter(([, lu]) => lu < now - DAY)
    .map(([h, lu]) => `${h.slice(0, 12)}: ${((now - lu) / HOUR).toFixed(1)} h`)
}

t.test('every object a new saveset references ends the save fresh; other objects are left alone', async t => {
  const s = setup(t)
  const s1 = incSave(s.savedir, 'c', [s.src], s.cache)
  const gone = path.join(s.src, 'big', 'gone.bin')
  const goneChunks = await chunksOfFile(s.savedir, s1.id, gone)
  t.ok(goneChunks.length >= 1)
  fs.rmSync(gone)
  // Three days pass: for the savedir's times and the cache's alike (the first save recorded
  // the objects it wrote).
  const threeDaysAgo = new Date(Date.now() - 3 * DAY)
  setObjectTimes(s.savedir, threeDaysAgo)
  t.ok(await shiftCacheTimes(s.cache, readConfig(s.savedir).id, -3 * DAY) >= 1, 'the first save recorded the objects it wrote in the cache')
  const before = new Set(objectKinds(s.savedir).keys())

  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 0, 'unchanged files are reused')
  const r = await reachOf(s.savedir, s2.id)
  t.same(await staleObjects(s.savedir, s2.id), [], `every object reachable from the new saveset (${r.trees.size} trees, ${r.chunks.size} chunks) has a last-use time < 1 day old`)
  t.ok([...r.chunks].every(h => before.has(h)), 'its chunks are all old objects (reused, refreshed)')

  const unreferenced = [...before].filter(h => !r.trees.has(h) && !r.chunks.has(h))
  t.ok(goneChunks.every(h => unreferenced.includes(h)), 'the removed file\'s chunks are not referenced')
  t.ok(unreferenced.length > goneChunks.length, 'nor are the old trees on its path')
  const touched = unreferenced.filter(h => fs.existsSync(timePath(s.savedir, h)) || Math.abs(fs.statSync(dataPath(s.savedir, h)).mtimeMs - threeDaysAgo.getTime()) > 1000)
  t.same(touched, [], 'objects the new saveset does not reference were left alone (no .time, .data mtime unchanged)')
})

/**
 * Moves every time in the local cache's object log by `deltaMs`, read and written as
 * doc/format.md §10 describes it (blocks: "TSo1", count, CRC-32; records: name, float64 ms).
 */
async function shiftCacheTimes(cacheHome: string, repoId: string, deltaMs: number): Promise<number> {
  const file = path.join(cacheHome, 'tarshift', repoId, 'objects')
  const log = fs.readFileSync(file)
  let n = 0
  for (let at = 0; at < log.length;) {
    assert.equal(log.toString('latin1', at, at + 4), 'TSo1', 'a block starts with its magic')
    const count = log.readUInt32LE(at + 4)
    const records = log.subarray(at + 12, at + 12 + count * 40)
    assert.equal(crc32(records), log.readUInt32LE(at + 8), 'and its CRC-32 matches')
    for (let r = 0; r < records.length; r += 40) records.writeDoubleLE(records.readDoubleLE(r + 32) + deltaMs, r + 32)
    log.writeUInt32LE(crc32(records), at + 8)
    n += count
    at += 12 + count * 40
  }
  fs.writeFileSync(file, log)
  return n
}

t.test('the cache never lets a referenced object go stale (refresh interval 1 day)', async t => {
  // Day-to-day use: an object last used 23 h ago is fresh enough, so save 2 does not touch it;
  // if the cache then records "touched now", save 3 half a day later skips it, and the object
  // ends save 3 with a last-use time 34 h old. Half a day passing is simulated by moving every
  // recorded time back 11 h: the savedir's .data/.time mtimes and the cache's times alike.
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  setObjectTimes(s.savedir, new Date(Date.now() - 23 * HOUR))
  await shiftCacheTimes(s.cache, readConfig(s.savedir).id, -23 * HOUR)
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 0)
  const shifted = await shiftCacheTimes(s.cache, readConfig(s.savedir).id, -11 * HOUR)
  t.ok(shifted >= 1, `the cache recorded the reused chunks (${shifted})`)
  shiftObjectTimes(s.savedir, -11 * HOUR)

  const s3 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s3.filesRead, 0)
  t.same(await staleObjects(s.savedir, s3.id), [], 'every object the third saveset references has a last-use time < 1 day old')
})

t.test('a --dry-run save does not make the cache believe it refreshed anything', async t => {
  // A dry run touches nothing: if the cache recorded its reused chunks as "touched now", the
  // next real save would skip refreshing them and reference objects 3 days stale.
  const s = setup(t)
  incSave(s.savedir, 'c', [s.src], s.cache)
  setObjectTimes(s.savedir, new Date(Date.now() - 3 * DAY))
  await shiftCacheTimes(s.cache, readConfig(s.savedir).id, -3 * DAY)
  const dry = incSave(s.savedir, 'c', [s.src, '--dry-run'], s.cache)
  t.equal(dry.filesRead, 0, 'the dry run reuses every file')
  t.same([...objectKinds(s.savedir).keys()].filter(h => fs.existsSync(timePath(s.savedir, h))), [], 'and touches no object')
  const s2 = incSave(s.savedir, 'c', [s.src], s.cache)
  t.equal(s2.filesRead, 0)
  t.same(await staleObjects(s.savedir, s2.id), [], 'every object the real save references has a last-use time < 1 day old')
})
