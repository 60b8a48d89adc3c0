import t from 'tap'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { initSavedir } from '../../lib/repo/init.js'
import { readConfig } from '../../lib/repo/config.js'
import { NativeGets } from '../../lib/repo/native-gets.js'
import { NativePuts } from '../../lib/repo/native-puts.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { RING_BYTES, startStoreWorkers } from '../../lib/repo/store-workers.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { sha256hex } from '../../lib/codec/object-frame.js'
import { dataPath } from '../../lib/repo/layout.js'
import { native } from '../../lib/fs/native.js'
import { CorruptObjectError, MissingObjectError, TarshiftError } from '../../lib/errors.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

const DAY = 24 * 3600 * 1000

function newSavedir(t: Parameters<typeof tmpDirFor>[0]): string {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  return dir
}

/** Objects of every shape, written by the puts in C: zstd, raw (random, tiny, empty). */
async function someObjects(dir: string): Promise<Array<{ hash: string; kind: ObjectKind; data: Buffer }>> {
  const objects: Array<[ObjectKind, Buffer]> = [
    [ObjectKind.Data, Buffer.alloc(300_000, 'compressible ')],
    [ObjectKind.Data, randomBytes(90_000)],
    [ObjectKind.Tree, Buffer.from('tiny')],
    [ObjectKind.TreeIndex, Buffer.alloc(0)],
    [ObjectKind.Data, Buffer.concat([randomBytes(1000), Buffer.alloc(2_000_000, 9)])],
  ]
  const puts = new NativePuts(dir, 1, false, DAY, 2)
  const out = []
  for (const [kind, data] of objects) out.push({ hash: (await puts.put(data, kind)).hash, kind, data })
  return out
}

t.test('objects read into buffers of their own and into slots: kind and bytes exact', async t => {
  const dir = newSavedir(t)
  const objs = await someObjects(dir)
  const gets = new NativeGets(dir)
  const got = await gets.getMany(objs.map(o => o.hash))
  for (const [i, r] of got.entries()) {
    const o = objs[i] as (typeof objs)[number]
    if (r.ok !== true) { t.fail(`object ${i} failed`); continue }
    t.equal(r.value.kind, o.kind, `object ${i}: kind`)
    t.ok(r.value.data.equals(o.data), `object ${i}: bytes`)
  }
  const into = new Uint8Array(new SharedArrayBuffer(4 << 20))
  let at = 7
  const slots = objs.map(o => { const s = Buffer.from(into.buffer, at, o.data.length); at += o.data.length + 3; return s })
  const kinds = await gets.getManyInto(objs.map(o => o.hash), into, slots)
  t.same(kinds, objs.map(o => ({ ok: true, value: o.kind })), 'each kind')
  for (const [i, o] of objs.entries()) t.ok((slots[i] as Buffer).equals(o.data), `object ${i} in its slot`)
})

t.test('a missing, a damaged and an unreadable object each fail alone, with their own error', async t => {
  const dir = newSavedir(t)
  const objs = await someObjects(dir)
  const [zstd, raw, , , big] = objs as [(typeof objs)[number], (typeof objs)[number], unknown, unknown, (typeof objs)[number]]
  // A flipped byte in a zstd payload, and in a raw one.
  const flip = (hash: string, at: number): void => {
    const b = readFileSync(dataPath(dir, hash))
    b[at] = (b[at] as number) ^ 0x40
    writeFileSync(dataPath(dir, hash), b)
  }
  flip(zstd.hash, 40)
  flip(raw.hash, 100)
  // A file that is no object, and a fan-out directory that is a file.
  writeFileSync(dataPath(dir, big.hash), 'JUNK but long enough for a header')
  const missing = sha256hex(Buffer.from('never stored'))
  let unreadable = sha256hex(Buffer.from('x0'))
  for (let i = 1; objs.some(o => dirname(dataPath(dir, o.hash)) === dirname(dataPath(dir, unreadable))); i++) unreadable = sha256hex(Buffer.from(`x${i}`))
  rmSync(dirname(dataPath(dir, unreadable)), { recursive: true })
  writeFileSync(dirname(dataPath(dir, unreadable)), '')
  const gets = new NativeGets(dir)
  const hashes = [zstd.hash, raw.hash, big.hash, missing, unreadable, (objs[2] as (typeof objs)[number]).hash]
  const got = await gets.getMany(hashes)
  const err = (i: number): Error => { const r = got[i]; if (r?.ok !== false) throw new Error(`object ${i} did not fail`); return r.error }
  t.type(err(0), CorruptObjectError)
  t.match(err(0).message, /corrupt object .*: (zstd decompression failed|content hash is)/)
  t.type(err(1), CorruptObjectError)
  t.match((err(1) as CorruptObjectError).why, /^content hash is [0-9a-f]{64}$/, 'a raw payload: the hash tells')
  t.equal((err(2) as CorruptObjectError).why, 'bad magic')
  t.equal((err(2) as CorruptObjectError).path, dataPath(dir, big.hash), 'the error names the file')
  t.type(err(3), MissingObjectError)
  t.equal((err(3) as MissingObjectError).hash, missing)
  t.type(err(4), TarshiftError)
  t.equal((err(4) as TarshiftError).code, 'TARSHIFT_SAVEDIR_IO', 'ENOTDIR is a savedir error, not "missing"')
  t.equal((err(4) as TarshiftError).syscall, 'open')
  t.match(err(4).message, /reading an object failed: ENOTDIR/)
  t.equal(got[5]?.ok, true, 'the good object among them is read')
  // Into a slot: a header whose length is not the slot's is corrupt.
  const into = new Uint8Array(new SharedArrayBuffer(1 << 20))
  const [r] = await gets.getManyInto([raw.hash], into, [Buffer.from(into.buffer, 0, raw.data.length - 1)])
  t.match(r?.ok === false && r.error.message, /header says length 90000, expected 89999/)
})

t.test('an xz object is left to the workers; the store reads it through one', async t => {
  const dir = newSavedir(t)
  const xz = new ObjectStore(dir, readConfig(dir), { workers: 1, compression: 'xz' })
  const data = Buffer.alloc(100_000, 'xz object ')
  let hash: string
  try {
    hash = (await xz.put(data, ObjectKind.Data)).hash
    await xz.flush()
  } finally {
    await xz.close()
  }
  const [r] = await new NativeGets(dir).getMany([hash])
  t.same(r, { ok: 'other' })
  const pool = startStoreWorkers(dir, 2, RING_BYTES, 0)
  const store = new ObjectStore(dir, readConfig(dir), { pool })
  try {
    const zstdData = Buffer.alloc(100_000, 'zstd object ')
    const z = await store.put(zstdData, ObjectKind.Data)
    t.ok((await store.get(z.hash)).data.equals(zstdData), 'a zstd object read in C')
    t.equal(pool.size, 0, 'no worker for it')
    t.ok((await store.get(hash)).data.equals(data), 'the xz object read in a worker')
    t.equal(pool.size, 1, 'one worker started for it')
    const [a, b] = await Promise.all([store.getBatched(hash), store.getBatched(z.hash)])
    t.ok(a.data.equals(data) && b.data.equals(zstdData), 'batched: both')
    const slot = store.getInto(hash, data.length)
    t.ok(slot !== null && (await slot).equals(data), 'into a ring slot, through the worker')
  } finally {
    await store.close()
  }
})

t.test('getObjects checks its arguments', async t => {
  const dir = Buffer.from('/tmp')
  const h = 'a'.repeat(64)
  t.throws(() => native.getObjects(dir, 2, 'A'.repeat(64), null, null, null), TypeError, 'uppercase hex')
  t.throws(() => native.getObjects(dir, 2, 'abc', null, null, null), TypeError, 'not whole names')
  const into = new Uint8Array(16)
  t.throws(() => native.getObjects(dir, 2, h, into, new Float64Array([10]), new Float64Array([10])), RangeError, 'a slot past the end')
  t.throws(() => native.getObjects(dir, 2, h, into, new Float64Array([0, 0]), new Float64Array([1, 1])), TypeError, 'one slot per hash')
})
