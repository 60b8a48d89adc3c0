// With zstd (and none) the store's work is done in C: a save, first or incremental, with or
// without the local cache's help, starts no store worker (each is a V8 isolate, 15-20 MB of
// resident memory: doc/performance.md, session 14). With xz it does.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor } from '../helpers/fixture-tree.js'
import { initSavedir } from '../../lib/repo/init.js'
import { readConfig } from '../../lib/repo/config.js'
import { RING_BYTES, startStoreWorkers } from '../../lib/repo/store-workers.js'
import { save, type SaveResult } from '../../lib/save/save.js'
import { saveReadAhead } from '../../lib/save/read-ahead.js'
import { buildSelection } from '../../lib/save/source-paths.js'
import { WarningReporter } from '../../lib/save/warning-reporter.js'
import type { SavesetSummary } from '../../lib/repo/saveset.js'

function tree(root: string): void {
  const files: Record<string, { type: 'file'; size: number; seed: number }> = {}
  for (let i = 0; i < 40; i++) files[`f${i}`] = { type: 'file', size: 100 + i * 997, seed: i }
  buildTree(root, {
    type: 'dir',
    children: {
      small: { type: 'dir', children: files },
      big: { type: 'file', size: 3 * 1024 * 1024, seed: 99 },
      deeper: { type: 'dir', children: { a: { type: 'dir', children: { b: { type: 'file', size: 70_000, seed: 7 } } } } },
    },
  })
}

/** One save of `src` with a pool started empty; returns the result and the workers it started. */
async function saveCounting(savedir: string, src: string, compression: string, references: SavesetSummary[]): Promise<{ r: SaveResult; workers: number }> {
  const config = readConfig(savedir)
  const pool = startStoreWorkers(savedir, 2, RING_BYTES, 0)
  const r = await save({
    savedir,
    config,
    subset: 'threads',
    selection: buildSelection([Buffer.from(src)], true, '/'),
    reporter: new WarningReporter(true),
    readAhead: saveReadAhead({ inlineLimit: config.inlineLimit }),
    pool,
    compression,
    references,
  })
  return { r, workers: pool.size }
}

t.test('zstd: a first save and an incremental one start no store worker; xz: they do', async t => {
  const root = tmpDirFor(t, 'tarshift-threads-')
  const src = path.join(root, 'src')
  tree(src)
  // Files changed within 2 s of a save are racy (lib/save/racy.ts): never reused. Let the
  // tree age past that, so that the incremental save reuses what did not change.
  await new Promise(r => setTimeout(r, 2100))
  for (const [compression, workers] of [['zstd', 0], ['xz', 2]] as const) {
    const savedir = path.join(root, `sd-${compression}`)
    initSavedir(savedir)
    const first = await saveCounting(savedir, src, compression, [])
    t.ok(first.r.objectsNew > 0, `${compression}: the first save wrote objects (${first.r.objectsNew})`)
    t.equal(first.workers, workers, `${compression}: the first save started ${workers} workers`)
    // Changed and unchanged files, no local cache: each reused object is checked and
    // refreshed, each reference tree read from the savedir.
    fs.appendFileSync(path.join(src, 'small', 'f3'), 'changed')
    const second = await saveCounting(savedir, src, compression, [first.r.summary])
    t.equal(second.r.filesRead, 1, `${compression}: the changed file read`)
    t.ok(second.r.filesReused > 40, `${compression}: the others reused (${second.r.filesReused})`)
    if (compression === 'zstd') t.equal(second.workers, 0, 'zstd: the incremental save started no worker')
    else t.ok(second.workers > 0, `xz: the incremental save started workers (${second.workers})`)
    fs.truncateSync(path.join(src, 'small', 'f3'), 100 + 3 * 997)
    await new Promise(r => setTimeout(r, 2100))
  }
})
