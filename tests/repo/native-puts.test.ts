import t from 'tap'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { initSavedir } from '../../lib/repo/init.js'
import { readConfig } from '../../lib/repo/config.js'
import { NativePuts, libuvPoolThreads, putConcurrency, putsNatively } from '../../lib/repo/native-puts.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { RING_BYTES, startStoreWorkers } from '../../lib/repo/store-workers.js'
import { ObjectKind, decodeHeader, HEADER_SIZE } from '../../lib/codec/object-header.js'
import { sha256hex, unframeObject } from '../../lib/codec/object-frame.js'
import { dataPath, timePath } from '../../lib/repo/layout.js'
import { native } from '../../lib/fs/native.js'
import { TarshiftError } from '../../lib/errors.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

const DAY = 24 * 3600 * 1000

function newSavedir(t: Parameters<typeof tmpDirFor>[0]): string {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  return dir
}

/** The objects one after another, and their (kind, length) items. */
function batch(objects: Array<[ObjectKind, Buffer]>): { bytes: Buffer; items: Array<{ kind: ObjectKind; length: number }> } {
  return { bytes: Buffer.concat(objects.map(o => o[1])), items: objects.map(([kind, b]) => ({ kind, length: b.length })) }
}

function temporaries(dir: string): string[] {
  const out: string[] = []
  for (const d of readdirSync(join(dir, 'chunks'))) for (const n of readdirSync(join(dir, 'chunks', d))) if (n.endsWith('.tmp')) out.push(n)
  return out
}

t.test('puts at once: two more than the cores locally; over the network as many as the pool has threads, at most 32', async t => {
  t.equal(putConcurrency('ordered', 2, 32), 4)
  t.equal(putConcurrency('writeOut', 4, 32), 6)
  t.equal(putConcurrency('fsync', 2, 32), 32)
  t.equal(putConcurrency('fsync', 2, 100), 32, 'at most 32')
  t.equal(putConcurrency('fsync', 2, 4), 4, 'libuv\'s default pool: as locally')
  t.equal(putConcurrency('fsync', 2, 2), 4, 'never fewer than locally')
  t.equal(libuvPoolThreads({}), 4, 'libuv\'s default')
  t.equal(libuvPoolThreads({ UV_THREADPOOL_SIZE: '32' }), 32)
  t.equal(libuvPoolThreads({ UV_THREADPOOL_SIZE: '5000' }), 1024, 'libuv\'s cap')
  t.equal(libuvPoolThreads({ UV_THREADPOOL_SIZE: 'x' }), 4)
  t.equal(libuvPoolThreads({ UV_THREADPOOL_SIZE: '0' }), 4)
})

t.test('which codecs are put in C', async t => {
  t.ok(putsNatively(0), 'none')
  t.ok(putsNatively(1), 'zstd')
  t.notOk(putsNatively(2), 'xz')
  t.throws(() => new NativePuts('/nonexistent', 2, false, DAY, 1), /not put natively/)
})

/** Run `fn` with TARSHIFT_OBJECT_DURABILITY set to `mode` (objects made durable that way). */
async function withDurability<T>(mode: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.TARSHIFT_OBJECT_DURABILITY
  if (mode === undefined) delete process.env.TARSHIFT_OBJECT_DURABILITY
  else process.env.TARSHIFT_OBJECT_DURABILITY = mode
  try {
    return await fn()
  } finally {
    if (before === undefined) delete process.env.TARSHIFT_OBJECT_DURABILITY
    else process.env.TARSHIFT_OBJECT_DURABILITY = before
  }
}

for (const mode of ['ordered', 'writeOut', 'fsync']) t.test(`objects written in the documented format (durability ${mode}): header, codec, payload; each reads back exact`, async t => withDurability(mode, async () => {
  const dir = newSavedir(t)
  const objects: Array<[ObjectKind, Buffer]> = [
    [ObjectKind.Data, Buffer.alloc(100_000, 'compressible ')],
    [ObjectKind.Data, randomBytes(70_000)], // incompressible: stored raw
    [ObjectKind.Tree, Buffer.from('a small tree')],
    [ObjectKind.TreeIndex, Buffer.alloc(0)], // empty: raw, header only
    [ObjectKind.Data, Buffer.alloc(3_000_000, 7)],
  ]
  for (const codecId of [1, 0]) {
    const puts = new NativePuts(dir, codecId, false, DAY, 2)
    const { bytes, items } = batch(objects.map(([k, b]) => [k, codecId === 0 ? Buffer.concat([b, Buffer.from('raw')]) : b]))
    const before = Date.now()
    const results = await puts.putMany(bytes, items)
    t.equal(results.length, objects.length)
    let at = 0
    for (const [i, r] of results.entries()) {
      const item = items[i] as { kind: ObjectKind; length: number }
      const data = bytes.subarray(at, at + item.length)
      at += item.length
      if (!r.ok) { t.fail(`object ${i}: ${r.error.message}`); continue }
      t.equal(r.value.hash, sha256hex(data), `object ${i}: named by its SHA-256`)
      t.ok(r.value.isNew)
      const framed = readFileSync(dataPath(dir, r.value.hash))
      t.equal(r.value.storedBytes, framed.length, 'storedBytes is the file size')
      t.ok((r.value.lastUse ?? 0) >= before - 1 && (r.value.lastUse ?? 0) <= Date.now() + 1, 'lastUse is the write time')
      const h = decodeHeader(framed)
      if (typeof h === 'string') { t.fail(h); continue }
      t.equal(h.kind, item.kind, 'kind in the header')
      t.equal(h.length, data.length, 'length in the header')
      const compressed = codecId === 1 && (i === 0 || i === 4) // random, tiny and empty ones do not shrink
      t.equal(h.codecId, compressed ? 1 : 0, `object ${i}: ${compressed ? 'zstd' : 'raw'}`)
      if (!compressed) t.ok(framed.subarray(HEADER_SIZE).equals(data), 'a raw payload is the bytes')
      t.equal(statSync(dataPath(dir, r.value.hash)).mode & 0o777, 0o600, 'mode 0600')
      const back = await unframeObject(framed, r.value.hash)
      t.ok(back.data.equals(data), `object ${i} unframes and verifies`)
    }
    t.equal(await puts.sync(), objects.length, 'sync makes each new object durable')
    t.equal(await puts.sync(), 0, 'and forgets them')
  }
  t.same(temporaries(dir), [], 'no temporaries left')
}))

t.test('an existing object shorter than a header (left empty or cut by a crash) is written again, not trusted', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 1)
  const dry = new NativePuts(dir, 1, true, DAY, 1)
  for (const [i, damaged] of [Buffer.alloc(0), Buffer.from('TSOB\x01\x00')].entries()) {
    const data = Buffer.alloc(40_000 + i, `damaged ${i}`)
    const h = sha256hex(data)
    writeFileSync(dataPath(dir, h), damaged)
    t.same(await puts.refresh([h]), [null], `${damaged.length} bytes: refresh reports it missing`)
    const [d] = await dry.putMany(data, [{ kind: ObjectKind.Data, length: data.length }])
    t.ok(d?.ok && d.value.isNew, 'a dry run would write it')
    t.equal(statSync(dataPath(dir, h)).size, damaged.length, 'and does not')
    const r = await puts.put(data, ObjectKind.Data)
    t.ok(r.isNew, 'a put writes it again')
    const back = await unframeObject(readFileSync(dataPath(dir, h)), h)
    t.ok(back.data.equals(data), 'whole now')
    t.notOk((await puts.put(data, ObjectKind.Data)).isNew, 'then reused')
  }
  const header = Buffer.alloc(HEADER_SIZE + 3, 1)
  const h = sha256hex(Buffer.from('sixteen bytes or more'))
  writeFileSync(dataPath(dir, h), header)
  t.notOk((await puts.put(Buffer.from('sixteen bytes or more'), ObjectKind.Data)).isNew, 'a header long or more: reused (a check reads it)')
})

t.test('an existing object is reused: refreshed only when stale (.time), never rewritten', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 1)
  const data = Buffer.alloc(50_000, 'x')
  const first = await puts.put(data, ObjectKind.Data)
  t.ok(first.isNew)
  const d = dataPath(dir, first.hash)
  const again = await puts.put(data, ObjectKind.Data)
  t.same({ isNew: again.isNew, storedBytes: again.storedBytes }, { isNew: false, storedBytes: 0 }, 'fresh: reused')
  t.equal(again.lastUse, statSync(d).mtimeMs, 'its last use is the .data mtime')
  t.notOk(existsSync(timePath(dir, first.hash)), 'no .time for a fresh object')
  const old = new Date(Date.now() - 3 * DAY)
  utimesSync(d, old, old)
  const inode = statSync(d).ino
  const before = Date.now()
  const stale = await puts.put(data, ObjectKind.Data)
  t.notOk(stale.isNew)
  t.ok((stale.lastUse ?? 0) >= before - 1, 'a stale object is refreshed to now')
  t.ok(Math.abs(statSync(timePath(dir, first.hash)).mtimeMs - (stale.lastUse ?? 0)) < 2, '.time created with that time')
  t.equal(statSync(d).ino, inode, 'the .data is not rewritten')
  t.ok(Math.abs(statSync(d).mtimeMs - old.getTime()) < 1, 'nor touched')
  // .time stale too: touched, not created.
  utimesSync(timePath(dir, first.hash), old, old)
  const touched = await puts.put(data, ObjectKind.Data)
  t.ok((touched.lastUse ?? 0) >= before - 1)
  t.ok(statSync(timePath(dir, first.hash)).mtimeMs >= before - 1, '.time touched')
  // A recent .time makes the object fresh, whatever the .data's age.
  const recent = await puts.put(data, ObjectKind.Data)
  t.equal(recent.lastUse, statSync(timePath(dir, first.hash)).mtimeMs, 'last use is the newer .time')
})

t.test('a dry run writes and touches nothing', async t => {
  const dir = newSavedir(t)
  const real = new NativePuts(dir, 1, false, DAY, 1)
  const existing = Buffer.alloc(10_000, 'e')
  const h = (await real.put(existing, ObjectKind.Data)).hash
  const old = new Date(Date.now() - 3 * DAY)
  utimesSync(dataPath(dir, h), old, old)
  const dry = new NativePuts(dir, 1, true, DAY, 1)
  const fresh = Buffer.alloc(200_000, 'n')
  const [a, b] = await dry.putMany(...Object.values(batch([[ObjectKind.Data, fresh], [ObjectKind.Data, existing]])) as [Buffer, Array<{ kind: ObjectKind; length: number }>])
  t.ok(a?.ok && a.value.isNew && a.value.storedBytes > HEADER_SIZE && a.value.storedBytes < fresh.length && a.value.lastUse === null, 'new: its stored size, no last use')
  t.ok(b?.ok && !b.value.isNew && b.value.storedBytes === 0 && b.value.lastUse === null, 'existing: reused, untouched')
  t.notOk(existsSync(dataPath(dir, sha256hex(fresh))), 'nothing written')
  t.notOk(existsSync(timePath(dir, h)), 'nothing touched')
  t.ok(Math.abs(statSync(dataPath(dir, h)).mtimeMs - old.getTime()) < 1, 'the .data untouched')
  t.equal(await dry.sync(), 0)
})

t.test('a failure is the object\'s own savedir error, with its path and syscall; the others are written', async t => {
  const dir = newSavedir(t)
  const good = Buffer.alloc(20_000, 'good')
  const bad = Buffer.alloc(20_000, 'bad')
  const badHash = sha256hex(bad)
  const fanout = dirname(dataPath(dir, badHash))
  if (dirname(dataPath(dir, sha256hex(good))) === fanout) t.fail('test objects share a fan-out directory')
  rmSync(fanout, { recursive: true })
  writeFileSync(fanout, 'not a directory')
  const puts = new NativePuts(dir, 1, false, DAY, 1)
  const { bytes, items } = batch([[ObjectKind.Data, good], [ObjectKind.Data, bad]])
  const [g, b] = await puts.putMany(bytes, items)
  t.ok(g?.ok && g.value.isNew, 'the good object is written')
  t.ok(existsSync(dataPath(dir, sha256hex(good))))
  if (b?.ok !== false) throw new Error('the bad object did not fail')
  t.type(b.error, TarshiftError)
  t.equal((b.error as TarshiftError).code, 'TARSHIFT_SAVEDIR_IO')
  t.equal((b.error as TarshiftError).path, dataPath(dir, badHash), 'names the object')
  t.equal((b.error as TarshiftError).syscall, 'stat')
  t.match(b.error.message, /stat of an object failed: ENOTDIR/)
  await t.rejects(puts.put(bad, ObjectKind.Data), { code: 'TARSHIFT_SAVEDIR_IO' }, 'put() rejects with it')
})

t.test('sync makes the names durable: the directories written into; one removed fails it as a savedir error naming it', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 1)
  const r = await puts.put(randomBytes(1000), ObjectKind.Data)
  rmSync(dirname(dataPath(dir, r.hash)), { recursive: true })
  await t.rejects(puts.sync(), { code: 'TARSHIFT_SAVEDIR_IO', path: dirname(dataPath(dir, r.hash)), syscall: 'open' })
})

t.test('sync of many objects, directories in parallel shares: each object counted once; a directory removed among them fails it, named', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 3)
  const hashes = (await Promise.all(Array.from({ length: 10 }, (_, i) => puts.put(Buffer.alloc(2000, `sync ${i}`), ObjectKind.Data)))).map(r => r.hash)
  t.equal(await puts.sync(), 10, 'all ten')
  t.equal(await puts.sync(), 0, 'and forgotten')
  const more = (await Promise.all(Array.from({ length: 7 }, (_, i) => puts.put(Buffer.alloc(2000, `more ${i}`), ObjectKind.Data)))).map(r => r.hash)
  const gone = dirname(dataPath(dir, more[4] as string))
  const kept = hashes.filter(h => dirname(dataPath(dir, h)) !== gone)
  rmSync(gone, { recursive: true })
  await t.rejects(puts.sync(), { code: 'TARSHIFT_SAVEDIR_IO', path: gone, syscall: 'open' })
  t.ok(kept.length > 0 && kept.every(h => existsSync(dataPath(dir, h))))
})

t.test('more calls than may run at once: all complete, each with its own results', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 2)
  const inputs = Array.from({ length: 40 }, (_, i) => Buffer.alloc(30_000 + i, `call ${i}`))
  const results = await Promise.all(inputs.map(b => puts.put(b, ObjectKind.Data)))
  t.same(results.map(r => r.hash), inputs.map(b => sha256hex(b)))
  t.ok(results.every(r => r.isNew))
  t.equal(await puts.sync(), inputs.length)
})

t.test('the pool threads that put and get are SCHED_BATCH (waking them does not preempt the JavaScript thread); it is not', async t => {
  const dir = newSavedir(t)
  const child = (mode: string, ...hashes: string[]): { before: { main: number; batch: number }; after: { main: number; batch: number } } => {
    const r = spawnSync(process.execPath, [new URL('./thread-policy-child.js', import.meta.url).pathname, dir, mode, ...hashes], { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '4' } })
    if (r.status !== 0) throw new Error(`child ${mode}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const put = child('put')
  t.same(put.before, { main: 0, batch: 0 }, 'before: every thread SCHED_OTHER')
  t.equal(put.after.main, 0, 'after the puts: the JavaScript thread is still SCHED_OTHER')
  t.ok(put.after.batch >= 1 && put.after.batch <= 4, `after the puts: the pool threads that worked are SCHED_BATCH (${put.after.batch})`)
  const hashes = Array.from({ length: 16 }, (_, i) => sha256hex(Buffer.alloc(200_000, `object ${i}`)))
  const get = child('get', ...hashes)
  t.same(get.before, { main: 0, batch: 0 }, 'a process that only gets: before, none')
  t.equal(get.after.main, 0, 'after the gets: the JavaScript thread is SCHED_OTHER')
  t.ok(get.after.batch >= 1 && get.after.batch <= 4, `after the gets: the pool threads that read are SCHED_BATCH (${get.after.batch})`)
})

t.test('putObjects checks its arguments', async t => {
  const dir = Buffer.from('/tmp')
  const ok = [dir, 2, Buffer.alloc(4), new Uint32Array([4, 0]), 1, 3, false, DAY, 'tag', 0] as const
  const call = (i: number, v: unknown): unknown => native.putObjects(...(ok.map((x, j) => (j === i ? v : x)) as unknown as Parameters<typeof native.putObjects>))
  t.throws(() => call(4, 2), TypeError, 'codec 2 (xz) is not done in C')
  t.throws(() => call(1, 0), TypeError, 'fan-out digits 1..8')
  t.throws(() => call(3, [4, 0]), TypeError, 'items must be a Uint32Array')
  t.throws(() => call(3, new Uint32Array([5, 0])), RangeError, 'items longer than the bytes')
  t.throws(() => call(3, new Uint32Array([4, 3])), RangeError, 'unknown kind')
  t.throws(() => call(8, ''), TypeError, 'an empty temp tag')
  t.throws(() => call(9, 3), TypeError, 'durability 0..2')
  t.throws(() => call(9, false), TypeError, 'durability is a number')
})

t.test('an ObjectStore with zstd puts in C: what it writes the workers read', async t => {
  const dir = newSavedir(t)
  const store = new ObjectStore(dir, readConfig(dir), { workers: 1 })
  try {
    const data = Buffer.concat([randomBytes(1000), Buffer.alloc(400_000, 3)])
    const r = await store.put(data, ObjectKind.Data)
    await store.flush()
    t.ok((await store.get(r.hash)).data.equals(data))
  } finally {
    await store.close()
  }
})

t.test('refresh: existing objects made fresh (a dry run only reports), missing ones null, errors typed', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 1)
  const fresh = (await puts.put(Buffer.alloc(5000, 'f'), ObjectKind.Data)).hash
  const stale = (await puts.put(Buffer.alloc(5000, 's'), ObjectKind.Data)).hash
  t.equal(await puts.sync(), 2)
  const old = new Date(Date.now() - 3 * DAY)
  utimesSync(dataPath(dir, stale), old, old)
  const missing = sha256hex(Buffer.from('not stored'))
  const dry = new NativePuts(dir, 1, true, DAY, 1)
  const seen = await dry.refresh([fresh, stale, missing])
  t.equal(seen[0], statSync(dataPath(dir, fresh)).mtimeMs, 'dry run: a fresh object\'s last use')
  t.ok(Math.abs((seen[1] ?? 0) - old.getTime()) < 1, 'dry run: the stale one as it is')
  t.equal(seen[2], null, 'missing: null')
  t.notOk(existsSync(timePath(dir, stale)), 'dry run: nothing touched')
  const before = Date.now()
  const times = await puts.refresh([fresh, stale, missing, stale])
  t.equal(times[0], statSync(dataPath(dir, fresh)).mtimeMs, 'fresh: untouched, its last use')
  t.ok((times[1] ?? 0) >= before - 1, 'stale: refreshed to now')
  t.equal(statSync(timePath(dir, stale)).mtimeMs, times[1], '.time has that time')
  t.equal(times[2], null)
  t.equal(times[3], times[1], 'asked twice: fresh the second time')
  t.equal(await puts.sync(), 0, 'refreshing writes no object')
  // A fan-out directory that is a file: a savedir error, not "missing".
  let bad = sha256hex(Buffer.from('b0'))
  for (let i = 1; [fresh, stale].some(h => dirname(dataPath(dir, h)) === dirname(dataPath(dir, bad))); i++) bad = sha256hex(Buffer.from(`b${i}`))
  rmSync(dirname(dataPath(dir, bad)), { recursive: true })
  writeFileSync(dirname(dataPath(dir, bad)), '')
  await t.rejects(puts.refresh([fresh, bad]), { code: 'TARSHIFT_SAVEDIR_IO', syscall: 'stat', path: dataPath(dir, bad) })
  t.throws(() => native.refreshObjects(Buffer.from(dir), 2, 'Z'.repeat(64), DAY, false), TypeError, 'hex names only')
})

t.test('an ObjectStore without a cache checks objects in C: ensureFresh starts no worker', async t => {
  const dir = newSavedir(t)
  const seed = new NativePuts(dir, 1, false, DAY, 1)
  const h = (await seed.put(Buffer.alloc(9000, 'e'), ObjectKind.Data)).hash
  const pool = startStoreWorkers(dir, 2, RING_BYTES, 0)
  const store = new ObjectStore(dir, readConfig(dir), { pool })
  try {
    t.equal(await store.ensureFresh([h]), true)
    t.equal(await store.ensureFresh([h, sha256hex(Buffer.from('none'))]), false, 'one missing: false')
    t.equal(pool.size, 0, 'no worker started')
  } finally {
    await store.close()
  }
})

t.test('idle(): waits for every call, those waiting for their turn included', async t => {
  const dir = newSavedir(t)
  const puts = new NativePuts(dir, 1, false, DAY, 1)
  const inputs = Array.from({ length: 6 }, (_, i) => Buffer.alloc(400_000, `idle ${i}`))
  const calls = inputs.map(b => puts.put(b, ObjectKind.Data))
  await puts.idle()
  t.ok(inputs.every(b => existsSync(dataPath(dir, sha256hex(b)))), 'every object written when idle() returns')
  await Promise.all(calls)
  t.same(temporaries(dir), [], 'no temporaries')
})
