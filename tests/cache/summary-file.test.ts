// lib/cache/summary-file.ts: tree summaries in the local cache. Read back after reopening and
// before they are written; saves writing at once (processes) lose none and mix none up; a
// damaged, cut or cleared record is missing, never another tree's summary.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { SummaryFile, SUMMARIES_FILE, SUMMARIES_INDEX_FILE } from '../../lib/cache/summary-file.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

const name = (c: string): string => c.repeat(64)

t.test('summaries are written in batches of about 512 KiB, read back before and after', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const store = SummaryFile.open(dir, 64 << 20)
  store.put(name('f'), Buffer.from('of tree f'))
  t.equal(store.get(name('f'))?.toString(), 'of tree f', 'a summary just recorded is read back')
  t.ok(store.has(name('f')), 'and known')
  t.equal(fs.statSync(path.join(dir, SUMMARIES_FILE)).size, 0, 'but not written yet: it waits for more')
  // Random bytes: a summary that does not compress is stored as it is.
  const big = randomBytes(600 * 1024)
  store.put(name('0'), big)
  t.ok(fs.statSync(path.join(dir, SUMMARIES_FILE)).size > 600 * 1024, 'past 512 KiB, the batch is written')
  t.equal(fs.statSync(path.join(dir, SUMMARIES_INDEX_FILE)).size, 2 * 48, 'with an index record each')
  store.put(name('1'), Buffer.from('of tree 1'))
  store.close()
  const again = SummaryFile.open(dir, 64 << 20)
  t.same(['f', '0', '1'].map(c => again.get(name(c))?.length), [9, 600 * 1024, 9], 'closing writes the rest; all are there after a reopen')
  t.notOk(again.has(name('2')))
  t.equal(again.get(name('2')), undefined)
  again.close()
})

t.test('two stores open at once each write where the file ends', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const a = SummaryFile.open(dir, 1 << 20)
  const b = SummaryFile.open(dir, 1 << 20)
  a.put(name('a'), Buffer.from('of tree a'))
  a.flush()
  b.put(name('b'), Buffer.from('of tree b'))
  b.close()
  a.put(name('c'), Buffer.from('of tree c'))
  a.close()
  const c = SummaryFile.open(dir, 1 << 20)
  t.same(['a', 'b', 'c'].map(x => c.get(name(x))?.toString()), ['of tree a', 'of tree b', 'of tree c'])
  c.close()
})

t.test('processes writing at once: every summary is there, under its own name', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const mod = new URL('../../lib/cache/summary-file.js', import.meta.url).href
  const writer = (tag: string): Promise<number | null> => new Promise(resolve => {
    const code = `const { SummaryFile } = await import(${JSON.stringify(mod)})
      const s = SummaryFile.open(${JSON.stringify(dir)}, 1 << 30)
      for (let i = 0; i < 3000; i++) { const h = ('${tag}' + i.toString(16)).padStart(64, '0'); s.put(h, Buffer.alloc(100 + (i % 700), h)); if (i % 97 === 0) s.flush() }
      s.close()`
    spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' }).on('exit', resolve)
  })
  t.same(await Promise.all([writer('a'), writer('b'), writer('c')]), [0, 0, 0], 'the writers succeed')
  const s = SummaryFile.open(dir, 1 << 30)
  let wrong = 0
  for (const tag of ['a', 'b', 'c']) {
    for (let i = 0; i < 3000; i++) {
      const h = (tag + i.toString(16)).padStart(64, '0')
      if (!s.get(h)?.equals(Buffer.alloc(100 + (i % 700), h))) wrong++
    }
  }
  t.equal(wrong, 0, 'all 9,000 summaries read back whole')
  s.close()
})

t.test('a damaged or cut summary is missing; a cleared one is never taken for another', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const w = SummaryFile.open(dir, 1 << 20)
  w.put(name('a'), Buffer.from('of tree a'))
  w.put(name('b'), Buffer.from('of tree b'))
  w.close()
  const file = path.join(dir, SUMMARIES_FILE)
  const bytes = fs.readFileSync(file)
  const flipped = Buffer.from(bytes)
  flipped[12 + 32 + 1] = (flipped[12 + 32 + 1] as number) ^ 1 // in a's summary
  fs.writeFileSync(file, flipped)
  let r = SummaryFile.open(dir, 1 << 20)
  t.equal(r.get(name('a')), undefined, 'a summary failing its CRC is missing')
  t.equal(r.get(name('b'))?.toString(), 'of tree b', 'the next one is read')
  r.close()
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3))
  r = SummaryFile.open(dir, 1 << 20)
  t.equal(r.get(name('b')), undefined, 'a cut one is missing')
  r.close()
  fs.writeFileSync(file, bytes)
  const index = path.join(dir, SUMMARIES_INDEX_FILE)
  fs.appendFileSync(index, Buffer.alloc(30, 0xee))
  r = SummaryFile.open(dir, 1 << 20)
  t.equal(r.get(name('b'))?.toString(), 'of tree b', 'an index record cut short at the end is skipped')
  // Another save clears the summaries and writes others at the same offsets.
  const other = SummaryFile.open(dir, 1 << 20)
  other.clear()
  other.put(name('c'), Buffer.from('of tree c'))
  other.put(name('d'), Buffer.from('of tree d'))
  other.close()
  t.equal(r.get(name('a')), undefined, "a's place holds c's summary now: a is missing, not c's")
  t.equal(r.get(name('b')), undefined, 'so is b')
  r.close()
})

t.test('past the limit every summary is dropped', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const s = SummaryFile.open(dir, 200)
  s.put(name('a'), Buffer.alloc(50))
  s.put(name('b'), Buffer.alloc(50))
  t.ok(s.has(name('a')) && s.has(name('b')), '188 bytes: under the limit')
  s.put(name('c'), Buffer.alloc(50))
  t.notOk(s.has(name('a')) || s.has(name('b')) || s.has(name('c')), 'the third passes it: all gone')
  s.put(name('d'), Buffer.alloc(50))
  s.close()
  const again = SummaryFile.open(dir, 200)
  t.ok(again.has(name('d')) && !again.has(name('a')), 'what came after is kept')
  again.close()
})

t.test('a summary that compresses is stored as a zstd frame, and read back the same; one that does not, as it is', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const w = SummaryFile.open(dir, 64 << 20)
  // As summaries are: entries whose keys, names and metadata repeat; and one of random digests.
  const entries = Buffer.from(Array.from({ length: 200 }, (_, i) => `{"n":"file-${i}","t":0,"m":420,"u":1000,"g":1000,"s":${i * 37}}`).join(''))
  const digests = randomBytes(4096)
  const tiny = Buffer.from('x'.repeat(200))
  w.put(name('a'), entries)
  w.put(name('b'), digests)
  w.put(name('c'), tiny)
  t.ok(w.get(name('a'))?.equals(entries), 'read back before it is written')
  w.close()
  const file = fs.readFileSync(path.join(dir, SUMMARIES_FILE))
  t.ok(file.length < entries.length / 2 + digests.length + tiny.length + 3 * 44, `${file.length} bytes on disk for ${entries.length + digests.length + tiny.length}`)
  t.equal(file.toString('latin1', 0, 4), 'TSz1', 'the first record a zstd frame')
  const r = SummaryFile.open(dir, 64 << 20)
  t.ok(r.get(name('a'))?.equals(entries), 'the compressed one read back exact')
  t.ok(r.get(name('b'))?.equals(digests), 'the random one too')
  t.ok(r.get(name('c'))?.equals(tiny), 'and the short one (under 256 bytes: stored as it is)')
  r.close()
  t.ok(file.includes(digests), 'the random one stored as it is')
  t.ok(file.includes(tiny), 'the short one too')
})

t.test('records of the earlier form (TSs1 only) are read as before', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const w = SummaryFile.open(dir, 64 << 20)
  const digests = randomBytes(1000)
  w.put(name('a'), digests)
  w.close()
  const file = fs.readFileSync(path.join(dir, SUMMARIES_FILE))
  t.equal(file.toString('latin1', 0, 4), 'TSs1', 'an incompressible summary: a record of the first form')
  const r = SummaryFile.open(dir, 64 << 20)
  t.ok(r.get(name('a'))?.equals(digests))
  r.close()
})
