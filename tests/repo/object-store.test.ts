import t from 'tap'
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { initSavedir } from '../../lib/repo/init.js'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { RING_BYTES, startStoreWorkers } from '../../lib/repo/store-workers.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { dataPath } from '../../lib/repo/layout.js'
import { CorruptObjectError, MissingObjectError, TarshiftError } from '../../lib/errors.js'
import { sha256hex } from '../../lib/codec/object-frame.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

const child = new URL('./put-objects-child.js', import.meta.url).pathname

function objectFiles(savedir: string): { data: string[]; temps: string[] } {
  const data: string[] = []
  const temps: string[] = []
  const chunks = join(savedir, 'chunks')
  for (const d of readdirSync(chunks)) {
    for (const n of readdirSync(join(chunks, d))) {
      if (n.endsWith('.data')) data.push(join(chunks, d, n))
      else if (n.endsWith('.tmp')) temps.push(join(chunks, d, n))
    }
  }
  return { data, temps }
}

async function verifyAll(savedir: string, files: string[]): Promise<number> {
  const store = new ObjectStore(savedir, readConfig(savedir), { workers: 2 })
  let ok = 0
  try {
    for (const f of files) {
      const hash = f.slice(f.lastIndexOf('/') + 1, -'.data'.length)
      const r = await store.get(hash)
      if (sha256hex(r.data) === hash) ok++
    }
  } finally {
    await store.close()
  }
  return ok
}

/** A new savedir, and `fn` run with a store open on it (closed after); returns the savedir. */
async function withNewStore(t: Parameters<typeof tmpDirFor>[0], workers: number, fn: (store: ObjectStore, dir: string) => Promise<void>, nativePuts = true): Promise<string> {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const store = new ObjectStore(dir, readConfig(dir), { workers, native: nativePuts })
  try {
    await fn(store, dir)
  } finally {
    await store.close()
  }
  return dir
}

t.test('put, get, has; objects are 0600 in a 0700 savedir', async t => {
  await withNewStore(t, 1, async (store, dir) => {
    t.equal(statSync(dir).mode & 0o777, 0o700)
    const data = Buffer.from('hello object store '.repeat(100))
    const r = await store.put(data, ObjectKind.Data)
    t.equal(r.hash, sha256hex(data))
    t.equal(r.isNew, true)
    t.ok(store.has(r.hash))
    t.equal(statSync(dataPath(dir, r.hash)).mode & 0o777, 0o600)
    const again = await store.put(data, ObjectKind.Data)
    t.equal(again.isNew, false, 'a second put of the same bytes writes nothing')
    t.ok((await store.get(r.hash)).data.equals(data))
    await t.rejects(store.get('0'.repeat(64)), MissingObjectError)
  })
})

for (const nativePuts of [true, false]) {
  for (const mode of ['ordered', 'writeOut', 'fsync']) {
    t.test(`puts ${nativePuts ? 'in C' : 'in the workers'}, durability ${mode}: objects exact, flushed; one shorter than a header is written again`, async t => {
      const before = process.env.TARSHIFT_OBJECT_DURABILITY
      process.env.TARSHIFT_OBJECT_DURABILITY = mode
      t.teardown(() => {
        if (before === undefined) delete process.env.TARSHIFT_OBJECT_DURABILITY
        else process.env.TARSHIFT_OBJECT_DURABILITY = before
      })
      const inputs = Array.from({ length: 12 }, (_, i) => Buffer.alloc(20_000 + i, `durability ${mode} ${i}`))
      const damaged = Buffer.alloc(30_000, `damaged ${mode}`)
      const dir = await withNewStore(t, 1, async (store, dir) => {
        const hashes = (await Promise.all(inputs.map(b => store.put(b, ObjectKind.Data)))).map(r => r.hash)
        await store.flush()
        t.equal(store.stats.syncs, 1, 'one flush')
        for (const [i, h] of hashes.entries()) t.ok((await store.get(h)).data.equals(inputs[i] as Buffer), `object ${i} exact`)
        const h = sha256hex(damaged)
        writeFileSync(dataPath(dir, h), '')
        t.equal(await store.ensureFresh([h]), false, 'an empty .data is not a usable object')
        const r = await store.put(damaged, ObjectKind.Data)
        t.ok(r.isNew, 'written again')
        t.ok((await store.get(h)).data.equals(damaged), 'and whole')
        t.equal(await store.ensureFresh([h]), true, 'usable now')
        await store.flush()
      }, nativePuts)
      t.same(objectFiles(dir).temps, [], 'no temporaries left')
    })
  }
}

t.test('flush makes the savedir durable only when something was written or touched since the last one', async t => {
  await withNewStore(t, 1, async (store, dir) => {
    await store.flush()
    t.equal(store.stats.syncs, 0, 'nothing written: no syncfs')
    const small = Buffer.from('small object '.repeat(10))
    const large = randomBytes(200_000)
    await store.put(small, ObjectKind.Data)
    await store.flush()
    t.equal(store.stats.syncs, 1, 'a batched put: one sync')
    await store.get(sha256hex(small))
    await store.flush()
    t.equal(store.stats.syncs, 1, 'reads since: none')
    await store.put(large, ObjectKind.Data)
    await store.flush()
    t.equal(store.stats.syncs, 2, 'a put of its own: a sync')
    // Another store, which knows nothing of the object: it asks a worker, which may touch it.
    const other = new ObjectStore(dir, readConfig(dir), { workers: 1 })
    try {
      t.equal(await other.ensureFresh([sha256hex(large)]), true)
      await other.flush()
      t.equal(other.stats.syncs, 1, 'a freshness check (it may touch the object): a sync')
    } finally {
      await other.close()
    }
  })
})

t.test('a pool started with one worker of two: reads stay on it, the first put in the workers starts the other', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const seed = new ObjectStore(dir, readConfig(dir), { workers: 1 })
  const old = randomBytes(300_000)
  const oldHash = (await seed.put(old, ObjectKind.Data)).hash
  await seed.flush()
  await seed.close()
  const pool = startStoreWorkers(dir, 2, RING_BYTES, 1)
  const store = new ObjectStore(dir, readConfig(dir), { pool, native: false })
  try {
    t.equal(pool.size, 1, 'one worker at the start')
    t.ok((await store.get(oldHash)).data.equals(old))
    await t.rejects(store.get('0'.repeat(64)), MissingObjectError)
    t.ok(await store.ensureFresh([oldHash]))
    t.equal(pool.size, 1, 'reads and freshness checks start no other')
    const data = Array.from({ length: 12 }, () => randomBytes(200_000))
    const puts = await Promise.all(data.map(d => store.put(d, ObjectKind.Data)))
    t.equal(pool.size, 2, 'the first put started the second worker')
    t.same(puts.map(p => p.isNew), data.map(() => true))
    await store.flush()
    for (const [i, d] of data.entries()) t.ok((await store.get(sha256hex(d))).data.equals(d), `object ${i} back exact`)
  } finally {
    await store.close()
  }
})

t.test('a pool started with no worker: the first request starts one, the first put in the workers the others; closing one never used is quick', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const idle = startStoreWorkers(dir, 2, RING_BYTES, 0)
  t.equal(idle.size, 0, 'none at the start')
  await new ObjectStore(dir, readConfig(dir), { pool: idle }).close()
  t.equal(idle.size, 0, 'closing started none')
  const pool = startStoreWorkers(dir, 2, RING_BYTES, 0)
  const store = new ObjectStore(dir, readConfig(dir), { pool, native: false })
  try {
    await t.rejects(store.get('0'.repeat(64)), MissingObjectError)
    t.equal(pool.size, 1, 'a read started one worker')
    const d = randomBytes(100_000)
    const p = await store.put(d, ObjectKind.Data)
    t.equal(pool.size, 2, 'a put started the other')
    await store.flush()
    t.ok((await store.get(p.hash)).data.equals(d), 'the object back exact')
  } finally {
    await store.close()
  }
})

t.test('puts in C (zstd, none) start no worker; xz puts do', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  for (const [compression, workers] of [['zstd', 0], ['none', 0], ['xz', 2]] as const) {
    const pool = startStoreWorkers(dir, 2, RING_BYTES, 0)
    const store = new ObjectStore(dir, readConfig(dir), { pool, compression })
    try {
      const d = Buffer.concat([randomBytes(50_000), Buffer.alloc(300_000, compression)])
      const small = Buffer.from(`small ${compression}`)
      const [p] = await Promise.all([store.put(d, ObjectKind.Data), store.put(small, ObjectKind.Tree)])
      await store.flush()
      t.equal(pool.size, workers, `${compression}: ${workers} workers started by the puts`)
      t.equal(store.stats.objectsNew, 2)
      const framed = readFileSync(dataPath(dir, p.hash))
      t.equal(framed[6], { zstd: 1, none: 0, xz: 2 }[compression], `${compression}: the header names the codec`)
      t.equal(p.storedBytes, framed.length, 'storedBytes is the file\'s size')
      t.ok((await store.get(p.hash)).data.equals(d), `${compression}: back exact`)
    } finally {
      await store.close()
    }
  }
})

t.test('many gets at once, one worker: xz, zstd and raw objects each come back exact', async t => {
  // The worker reads objects into buffers it reuses: every codec's result must come back exact
  // while other gets use the same worker, raw objects (views of the read buffer) included.
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const objects: Buffer[] = []
  for (const [codec, n] of [['xz', 4], ['zstd', 4], ['none', 4]] as const) {
    const store = new ObjectStore(dir, readConfig(dir), { workers: 1, compression: codec })
    try {
      for (let i = 0; i < n; i++) {
        // Compressible (xz, zstd) or random (stored raw whatever the codec) bytes of varied sizes.
        const size = 1000 + i * 300000
        const b = codec === 'none' ? randomBytes(size) : Buffer.alloc(size, `${codec}${i}-`)
        await store.put(b, ObjectKind.Data)
        objects.push(b)
      }
    } finally {
      await store.close()
    }
  }
  const store = new ObjectStore(dir, readConfig(dir), { workers: 1 })
  try {
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(objects.map(b => store.get(sha256hex(b))))
      t.ok(got.every((r, i) => r.data.equals(objects[i] as Buffer)), `round ${round}: every object exact`)
    }
  } finally {
    await store.close()
  }
})

for (const inC of [true, false]) {
  t.test(`tree gets are batched (${inC ? 'in C' : 'in the workers'}): the same objects, a missing one fails alone`, async t => {
    await withNewStore(t, 2, async store => {
      const objects = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? randomBytes(100 + i) : Buffer.alloc(2000 + 7 * i, `tree ${i} `)))
      for (const b of objects) await store.put(b, ObjectKind.Tree)
      const missing = sha256hex(Buffer.from('never stored'))
      // Count the calls: 51 gets in one turn go as ceil(51 / 16) = 4 of them.
      let calls = 0
      if (inC) {
        const gets = (store as unknown as { nativeGets: { getMany: (...a: unknown[]) => Promise<unknown> } }).nativeGets
        const getMany = gets.getMany.bind(gets)
        gets.getMany = (...a: unknown[]) => {
          calls++
          return getMany(...a)
        }
      } else {
        const pool = (store as unknown as { pool: { call: (...a: unknown[]) => Promise<unknown> } }).pool
        const call = pool.call.bind(pool)
        pool.call = (...a: unknown[]) => {
          calls++
          return call(...a)
        }
      }
      const got = await Promise.allSettled([...objects.map(b => store.getBatched(sha256hex(b))), store.getBatched(missing)])
      t.equal(calls, 4, 'four calls for 51 gets')
      t.ok(got.slice(0, 50).every((r, i) => r.status === 'fulfilled' && r.value.kind === ObjectKind.Tree && r.value.data.equals(objects[i] as Buffer)), 'every object exact')
      const last = got[50]
      t.ok(last?.status === 'rejected' && last.reason instanceof MissingObjectError, 'the missing one is a MissingObjectError')
    }, inC)
  })
}

for (const nativePuts of [true, false]) {
const where = nativePuts ? 'puts in C' : 'puts in the workers'

t.test(`${where}: many small puts at once (sent in batches), with duplicates and large ones among them`, async t => {
  const inputs: Buffer[] = []
  for (let i = 0; i < 1000; i++) {
    const size = i % 97 === 0 ? 200 * 1024 : 1 + ((i * 7919) % 9000)
    inputs.push(i % 10 === 9 ? (inputs[i - 5] as Buffer) : Buffer.alloc(size, `object ${i} `))
  }
  const dir = await withNewStore(t, 2, async store => {
    // Half given up to the store (transfer), half kept by the caller and changed after put().
    const replies = await Promise.all(inputs.map((b, i) => {
      if (i % 2 === 0) return store.put(Buffer.from(b), ObjectKind.Data, { transfer: true })
      const mine = Buffer.from(b)
      const p = store.put(mine, ObjectKind.Data)
      mine.fill(0) // the store must have taken its own copy already
      return p
    }))
    t.ok(replies.every((r, i) => r.hash === sha256hex(inputs[i] as Buffer)), 'every reply names its own object')
    const distinct = new Set(inputs.map(b => sha256hex(b)))
    t.equal(replies.filter(r => r.isNew).length, distinct.size, 'each distinct object is new exactly once')
    t.equal(store.stats.objectsNew, distinct.size)
    for (const h of [...distinct].slice(0, 200)) t.ok((await store.get(h)).data.equals(inputs.find(b => sha256hex(b) === h) as Buffer))
  }, nativePuts)
  t.equal(objectFiles(dir).data.length, new Set(inputs.map(b => sha256hex(b))).size, 'one file per distinct object')
  t.equal(objectFiles(dir).temps.length, 0)
})

t.test(`${where}: chunks in slots of the shared ring: more than it holds at once, each object exact, every slot back`, async t => {
  const inputs = Array.from({ length: 120 }, (_, i) => randomBytes(i % 3 === 0 ? 1000 : 600 * 1024 + i))
  await withNewStore(t, 2, async store => {
    let fellBack = 0
    const replies = await Promise.all(inputs.map(b => {
      const c = store.chunkBuffer(b.length)
      if (!(c.buffer instanceof SharedArrayBuffer)) fellBack++
      c.set(b)
      return store.put(c, ObjectKind.Data, { transfer: true })
    }))
    t.ok(fellBack > 0, `the ring was full at times: ${fellBack} chunks in buffers of their own`)
    t.ok(replies.every((r, i) => r.hash === sha256hex(inputs[i] as Buffer)), 'every reply names its own object')
    for (const [i, r] of replies.entries()) if (i % 7 === 0) t.ok((await store.get(r.hash)).data.equals(inputs[i] as Buffer), `object ${i} reads back exact`)
    const again = store.chunkBuffer(RING_BYTES)
    t.ok(again.buffer instanceof SharedArrayBuffer && again.byteOffset === 0, 'all slots given back: the whole ring is free')
    again.fill(7)
    await store.put(again, ObjectKind.Data, { transfer: true })
  }, nativePuts)
})
}

t.test('getInto: objects read into ring slots, exact; a damaged or missing one fails and gives its slot back', async t => {
  await withNewStore(t, 2, async (store, dir) => {
    const inputs = Array.from({ length: 40 }, (_, i) => randomBytes(i % 4 === 0 ? 700 * 1024 : 3000 + i))
    const hashes = await Promise.all(inputs.map(async b => (await store.put(b, ObjectKind.Data)).hash))
    const got = hashes.map((h, i) => store.getInto(h, (inputs[i] as Buffer).length, i % 4 !== 0))
    t.ok(got.every(g => g !== null), 'room for all of them')
    const slots = await Promise.all(got as Array<Promise<Buffer>>)
    t.ok(slots.every((s, i) => s.buffer instanceof SharedArrayBuffer && s.equals(inputs[i] as Buffer)), 'each slot holds its object, exact')
    for (const s of slots) store.releaseChunk(s)

    // Damage one, remove another: each fails alone, with the right error.
    const p = dataPath(dir, hashes[1] as string)
    const b = readFileSync(p)
    b[b.length - 3] = (b[b.length - 3] as number) ^ 1
    writeFileSync(p, b)
    execFileSync('rm', [dataPath(dir, hashes[2] as string)])
    const [ok, bad, gone] = await Promise.allSettled([0, 1, 2].map(i => store.getInto(hashes[i] as string, (inputs[i] as Buffer).length) as Promise<Buffer>))
    t.ok(ok?.status === 'fulfilled' && ok.value.equals(inputs[0] as Buffer))
    t.ok(bad?.status === 'rejected' && bad.reason instanceof CorruptObjectError, 'a flipped byte: CorruptObjectError')
    t.ok(gone?.status === 'rejected' && gone.reason instanceof MissingObjectError, 'a missing object: MissingObjectError')
    if (ok?.status === 'fulfilled') store.releaseChunk(ok.value)
    // The wrong length (a tree that disagrees with its chunk) is damage too, not a short read.
    const wrong = await (store.getInto(hashes[3] as string, (inputs[3] as Buffer).length + 1) as Promise<Buffer>).catch(e => e)
    t.type(wrong, CorruptObjectError, 'a length other than the header\'s: CorruptObjectError')
    const whole = store.getInto(hashes[3] as string, RING_BYTES)
    t.ok(whole !== null, 'every slot was given back, the failed ones too: the whole ring is free')
    await (whole as Promise<Buffer>).catch(() => undefined)
    t.equal(store.getInto(hashes[3] as string, RING_BYTES + 1), null, 'no room: null, the caller uses get()')
  })
})

t.test('a flipped byte is a typed error naming the object', async t => {
  await withNewStore(t, 1, async (store, dir) => {
    const data = randomBytes(5000)
    const { hash } = await store.put(data, ObjectKind.Data)
    const p = dataPath(dir, hash)
    const b = readFileSync(p)
    b[100] = (b[100] as number) ^ 1
    writeFileSync(p, b)
    const err = await store.get(hash).catch(e => e)
    t.type(err, CorruptObjectError)
    t.equal(err.code, 'TARSHIFT_CORRUPT_OBJECT')
    t.match(err.message, hash)
    t.equal(err.path, p)
  })
})

t.test('two processes putting the same 10,000 objects at once: each present once and valid', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const run = (): Promise<{ objectsNew: number }> => new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [child, dir, '10000', 'same', '300', '1'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', d => { out += d })
    c.on('close', code => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exit ${code}`))))
  })
  const [a, b] = await Promise.all([run(), run()])
  const { data, temps } = objectFiles(dir)
  t.equal(data.length, 10000, 'exactly 10,000 objects')
  t.equal(temps.length, 0, 'no temporaries left')
  t.ok(a.objectsNew + b.objectsNew >= 10000, 'between them they wrote every object')
  t.equal(await verifyAll(dir, data), 10000, 'every object verifies')
})

t.test('over the network (durability fsync): 32 puts at once on a pool of 32 threads, batches of two; every object exact', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const env = { ...process.env, UV_THREADPOOL_SIZE: '32', TARSHIFT_OBJECT_DURABILITY: 'fsync', TARSHIFT_STORE: 'native' }
  // Compressible objects, small (batched) and over the batch limit: more at once than the
  // compression contexts allowed (6), so that puts wait for one.
  for (const [count, size] of [[3000, 3000], [300, 100_000]] as const) {
    const r = spawnSync(process.execPath, [child, dir, String(count), `net-${size}`, String(size), '1'], { encoding: 'utf8', env })
    t.equal(r.status, 0, `child: ${r.stderr}`)
    t.equal(JSON.parse(r.stdout).objectsNew, count, `${count} objects of ${size} bytes written`)
  }
  const { data, temps } = objectFiles(dir)
  t.equal(data.length, 3300)
  t.same(temps, [], 'no temporaries left')
  t.equal(await verifyAll(dir, data), 3300, 'every object verifies')
})

t.test('a writer killed with SIGKILL leaves no partial .data visible', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  for (let round = 0; round < 3; round++) {
    const c = spawn(process.execPath, [child, dir, '400', `rnd-kill${round}`, String(3 * 1024 * 1024), '0'], { stdio: 'ignore' })
    // Kill it mid-stream: once it has written a few more objects than before.
    const before = objectFiles(dir).data.length
    const deadline = performance.now() + 60_000
    while (objectFiles(dir).data.length < before + 3 + round && performance.now() < deadline) await new Promise(r => setTimeout(r, 20))
    c.kill('SIGKILL')
    await new Promise(r => c.on('close', r))
  }
  const { data } = objectFiles(dir)
  t.ok(data.length > 0, `some objects were written before the kills (${data.length})`)
  t.equal(await verifyAll(dir, data), data.length, 'every visible object is whole and valid')
})

for (const nativePuts of [true, false]) {
t.test(`ENOSPC on a small tmpfs, puts ${nativePuts ? 'in C' : 'in the workers'}: clear typed error, no partial objects`, async t => {
  const root = tmpDirFor(t)
  const mnt = join(root, 'mnt')
  mkdirSync(mnt)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt])
  t.teardown(() => { spawnSync('umount', [mnt]) })
  const dir = join(mnt, 'sd')
  initSavedir(dir)
  const r = spawnSync(process.execPath, [child, dir, '100', 'rnd-full', String(1024 * 1024), '1'], { encoding: 'utf8', env: { ...process.env, TARSHIFT_STORE: nativePuts ? 'native' : 'workers' } })
  t.not(r.status, 0, 'the writer fails')
  t.match(r.stderr, /TARSHIFT_NO_SPACE|no space left on the savedir/, 'the error says the savedir is full')
  const store = new ObjectStore(dir, readConfig(dir), { workers: 1, native: nativePuts })
  try {
    const err = await store.put(randomBytes(40 * 1024 * 1024), ObjectKind.Data).catch(e => e)
    t.type(err, TarshiftError)
    t.equal(err.code, 'TARSHIFT_NO_SPACE')
    t.match(err.message, /no space left on the savedir/)
  } finally {
    await store.close()
  }
  const { data, temps } = objectFiles(dir)
  t.equal(temps.length, 0, 'no temporaries left behind')
  t.equal(await verifyAll(dir, data), data.length, 'every visible object is valid')
})
}

t.test('a fan-out directory that cannot be read fails the claims check as a savedir error, never as "missing"', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const store0 = new ObjectStore(dir, readConfig(dir), { workers: 1 })
  let hash: string
  try {
    hash = (await store0.put(Buffer.from('claimed object'), ObjectKind.Data)).hash
    await store0.flush()
  } finally {
    await store0.close()
  }
  const fan = join(dir, 'chunks', hash.slice(0, 2))
  execFileSync('rm', ['-r', fan])
  execFileSync('ln', ['-s', hash.slice(0, 2), fan]) // a symlink to itself: ELOOP
  const cache = { touchedAt: (): number => Date.now(), record: (): void => undefined }
  const store = new ObjectStore(dir, readConfig(dir), { workers: 1, cache })
  try {
    t.equal(store.claimFresh(hash), true)
    const err = await store.missingClaimed().catch(e => e)
    t.type(err, TarshiftError)
    t.equal(err.code, 'TARSHIFT_SAVEDIR_IO')
    t.match(err.message, /checking that objects exist failed: ELOOP/)
    t.equal(err.path, join(fan, `${hash}.data`))
  } finally {
    await store.close()
  }
})

t.test('an object claimed many times in a row (the files of a directory with slices) is looked up and checked once', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  const put = new ObjectStore(dir, readConfig(dir), { workers: 1 })
  let part: string
  let other: string
  try {
    part = (await put.put(Buffer.from('a tree part'), ObjectKind.Data)).hash
    other = (await put.put(Buffer.from('another'), ObjectKind.Data)).hash
    await put.flush()
  } finally {
    await put.close()
  }
  execFileSync('rm', [dataPath(dir, part)])
  const asked: string[] = []
  const cache = { touchedAt: (h: string): number => { asked.push(h); return Date.now() }, record: (): void => undefined }
  const store = new ObjectStore(dir, readConfig(dir), { workers: 1, cache })
  try {
    let taken = 0
    for (let i = 0; i < 500; i++) if (store.claimFresh(part)) taken++
    t.equal(taken, 500, 'taken on the cache\'s word 500 times')
    t.equal(store.claimFresh(other), true)
    t.equal(store.claimFresh(part), true)
    t.same(asked, [part, other, part], 'the cache asked once for each run of the same object')
    t.same(await store.missingClaimed(), [part, part], 'the missing one reported, once a run')
    store.distrustCache()
    t.equal(store.claimFresh(other), false, 'once the cache is distrusted, nothing is taken on its word, the last claim neither')
  } finally {
    await store.close()
  }
})

t.test('objects taken on the cache\'s word are checked: by listing where many share a directory, by stat elsewhere', async t => {
  const dir = join(tmpDirFor(t), 'sd')
  initSavedir(dir)
  // 40 objects in fan-out directory "ab" (listed: 16 or more there) and 3 in "cd" (stat'ed).
  const contents: Buffer[] = []
  const want = { ab: 40, cd: 3 }
  for (let i = 0; want.ab + want.cd > 0; i++) {
    const b = Buffer.from(`object ${i}`)
    const h = sha256hex(b)
    const prefix = h.slice(0, 2) as 'ab' | 'cd'
    if (prefix in want && want[prefix] > 0) {
      want[prefix]--
      contents.push(b)
    }
  }
  const put = new ObjectStore(dir, readConfig(dir), { workers: 1 })
  const hashes: string[] = []
  try {
    for (const b of contents) hashes.push((await put.put(b, ObjectKind.Data)).hash)
    await put.flush()
  } finally {
    await put.close()
  }
  const inAb = hashes.filter(h => h.startsWith('ab'))
  const inCd = hashes.filter(h => h.startsWith('cd'))
  t.equal(inAb.length, 40)
  t.equal(inCd.length, 3)
  const gone = [inAb[3] as string, inAb[37] as string, inCd[1] as string]
  for (const h of gone) execFileSync('rm', [dataPath(dir, h)])
  // A cache that says every object was touched a moment ago.
  const cache = { touchedAt: (): number => Date.now(), record: (): void => undefined }
  const store = new ObjectStore(dir, readConfig(dir), { workers: 2, cache })
  try {
    for (const h of hashes) t.equal(store.claimFresh(h), true)
    t.same((await store.missingClaimed()).sort(), gone.slice().sort(), 'exactly the removed objects are missing')
    for (const h of inAb.filter(h => !gone.includes(h)).slice(0, 20)) store.claimFresh(h)
    t.same(await store.missingClaimed(), [], 'a later batch of present objects: none missing')
  } finally {
    await store.close()
  }
})
