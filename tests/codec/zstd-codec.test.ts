// The small zstd frames of the local cache (lib/codec/zstd-codec.ts, zstdFrame / zstdUnframe)
// come from the addon's libzstd, not zstd-napi: the same frames both ways (caches written
// before read after), damage refused with a code, and a save that loads no zstd-napi.
import t from 'tap'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { zstdFrame, zstdUnframe } from '../../lib/codec/zstd-codec.js'
import { native } from '../../lib/fs/native.js'
import { buildTree, seededBytes, tmpDirFor } from '../helpers/fixture-tree.js'
import { TARSHIFT_BIN, initSavedirAt } from '../helpers/cli.js'

const require = createRequire(import.meta.url)
const zstdNapi = require('zstd-napi') as { compress(d: Uint8Array): Buffer; decompress(d: Uint8Array): Buffer }

const inputs: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ['text', Buffer.from('tarshift summary '.repeat(5000))],
  ['random', seededBytes(300_000, 4)],
]

t.test('round trips, and the frames are zstd-napi\'s both ways', async t => {
  for (const [label, data] of inputs) {
    const frame = zstdFrame(data)
    t.ok(zstdUnframe(frame).equals(data), `${label}: unframed to the same bytes`)
    t.ok(zstdNapi.decompress(frame).equals(data), `${label}: zstd-napi reads the frame`)
    t.ok(zstdUnframe(zstdNapi.compress(data)).equals(data), `${label}: a frame zstd-napi wrote is read`)
  }
  t.ok(zstdFrame(inputs[2]![1]).length < 1000, 'text shrinks')
})

t.test('contexts are kept between calls: each call takes its own level; worker threads have their own', async t => {
  // Compressible, not trivially: words drawn from a seeded stream.
  const seed = seededBytes(40_000, 9)
  const text = Buffer.from(Array.from(seed, b => `w${b % 97}`).join(' '))
  const one = native.zstdFrame(text, 1)
  const high = native.zstdFrame(text, 19)
  t.ok(high.length < one.length, `level 19 packs tighter than level 1 (${high.length} < ${one.length}), after a level-1 call`)
  t.ok(native.zstdFrame(text, 1).equals(one), 'the same level again: the same frame')
  for (const f of [one, high, zstdFrame(text)]) t.ok(zstdUnframe(f).equals(text), 'each unframes to the bytes')
  t.throws(() => zstdUnframe(Buffer.from('not a frame at all')), { code: 'TARSHIFT_ZSTD' })
  t.ok(zstdUnframe(one).equals(text), 'a refused frame leaves the context usable')
  const { Worker } = await import('node:worker_threads')
  const nativeUrl = new URL('../../lib/fs/native.js', import.meta.url).href
  for (let i = 0; i < 3; i++) {
    const w = new Worker(`
      import('${nativeUrl}').then(({ native }) => {
        const { parentPort, workerData } = require('node:worker_threads')
        const data = Buffer.from(workerData)
        const frame = native.zstdFrame(data, 3)
        parentPort.postMessage(native.zstdUnframe(frame).equals(data) && native.zstdUnframe(frame).equals(data))
      })`, { eval: true, workerData: text })
    const ok = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
    await new Promise(resolve => w.once('exit', resolve))
    t.equal(ok, true, `worker ${i}: round trip, then its contexts freed as it ends`)
  }
  t.ok(zstdUnframe(native.zstdFrame(text, 3)).equals(text), 'the main thread\'s contexts still serve')
})

t.test('what is not a whole frame is refused with TARSHIFT_ZSTD', async t => {
  const frame = zstdFrame(Buffer.from('tarshift summary '.repeat(5000)))
  t.throws(() => zstdUnframe(Buffer.from('not a frame at all')), { code: 'TARSHIFT_ZSTD' })
  t.throws(() => zstdUnframe(frame.subarray(0, frame.length - 5)), { code: 'TARSHIFT_ZSTD' }, 'cut short')
  // (A changed byte inside the frame may go unseen by zstd, which keeps no checksum here: the
  // cache's records carry a CRC-32 for that, lib/cache/summary-file.ts.)
  const bad = Buffer.from(frame)
  bad[0] = (bad[0] as number) ^ 0xff
  t.throws(() => zstdUnframe(bad), { code: 'TARSHIFT_ZSTD' }, 'its magic number changed')
  t.throws(() => zstdUnframe('frame' as unknown as Uint8Array), TypeError)
  const bare = native as unknown as { zstdFrame(...a: unknown[]): Buffer; zstdUnframe(...a: unknown[]): Buffer }
  t.throws(() => bare.zstdUnframe(), TypeError, 'no argument: a TypeError, not undefined')
  t.throws(() => bare.zstdFrame(Buffer.from('x')), TypeError, 'no level: a TypeError')
})

t.test('a save (its cache\'s summaries packed, then read) loads no zstd-napi', async t => {
  const work = tmpDirFor(t)
  const src = path.join(work, 'src')
  const children: Record<string, { type: 'file'; content: string }> = {}
  for (let i = 0; i < 200; i++) children[`file-${i}.txt`] = { type: 'file', content: `line ${i}\n`.repeat(i % 7 + 1) }
  buildTree(src, { type: 'dir', children: { a: { type: 'dir', children }, b: { type: 'dir', children } } })
  const savedir = initSavedirAt(path.join(work, 'sd'))
  const env = { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache') }
  for (const which of ['first', 'unchanged']) {
    const log = path.join(work, `strace-${which}.log`)
    const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=openat,open', process.execPath, TARSHIFT_BIN, 'save', '-r', savedir, '--subset', 's', src, '--progress', 'none', '--json'], { env, timeout: 60_000 })
    t.equal(r.status, 0, `${which} save: ${r.stderr}`)
    const opened = fs.readFileSync(log, 'latin1')
    t.ok(opened.includes('tarshift_fs.node'), `${which} save: the log holds the opens (the addon's among them)`)
    t.notOk(opened.includes('zstd-napi'), `${which} save: nothing of zstd-napi opened`)
    if (which === 'unchanged') t.ok(JSON.parse(r.stdout.toString()).treesFromSummaries > 0, 'the unchanged save read summaries from the cache')
  }
  const summaries = fs.readdirSync(path.join(work, 'cache', 'tarshift'))
  t.equal(summaries.length, 1, 'one cache for the savedir')
})
