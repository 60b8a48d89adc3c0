// Tree summaries (lib/tree/tree-summary.ts): a tree's entries come back from its summary equal
// in every field but the longer inline data, which is a placeholder until a tree writer puts
// the real bytes back; a writer given summary entries writes the very tree they came from.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { newSavedir } from '../helpers/cli.js'
import { withStore } from '../helpers/saved-tree.js'
import type { ObjectStore } from '../../lib/repo/object-store.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'
import { SLICE_MIN, TreeWriter, writeTree } from '../../lib/tree/tree-writer.js'
import { encodeEntry, encodeTree, sameEntry, sameEntries } from '../../lib/tree/tree-codec.js'
import { openTree, readTree } from '../../lib/tree/tree-store.js'
import { placeholderOrigin } from '../../lib/tree/inline-placeholder.js'
import { recordSummary, summarize, SummaryDataLost, SummaryTreeReader, SUMMARY_DATA_OVER, type SummaryCache } from '../../lib/tree/tree-summary.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { ObjectCache } from '../../lib/cache/object-cache.js'
import { dataPath } from '../../lib/repo/layout.js'
import { pieceBytes } from '../../lib/tree/piece.js'
import { Packr } from 'msgpackr'
import { createHash } from 'node:crypto'

/** A summary cache in memory. */
class MapCache implements SummaryCache {
  readonly map = new Map<string, Buffer>()
  summary(hex: string): Buffer | undefined {
    const s = this.map.get(hex)
    return s === undefined ? undefined : Buffer.from(s)
  }
  hasSummary(hex: string): boolean {
    return this.map.has(hex)
  }
  recordSummary(hex: string, summary: Buffer): void {
    this.map.set(hex, summary)
  }
}

/** `list` written as a tree, its summaries kept in a cache of their own. */
async function withSummaries(store: ObjectStore, list: Entry[]): Promise<{ hash: Buffer; cache: MapCache }> {
  const cache = new MapCache()
  const hash = await writeTree(store, list, (hex, kind, data) => recordSummary(cache, hex, kind, data))
  await store.flush()
  return { hash, cache }
}

/** What a tree writer given `list` throws (null: nothing). */
async function writeFails(store: ObjectStore, list: Entry[]): Promise<unknown> {
  const w = new TreeWriter(store)
  try {
    for (const e of list) await w.add(e)
  } catch (e) {
    return e
  }
  return null
}

/** Files with inline data of many lengths around the cut, a hardlinked one, chunks, a dir, xattrs. */
function entries(n: number, seed = 0): Entry[] {
  const out: Entry[] = []
  for (let i = 0; i < n; i++) {
    const len = [0, 1, SUMMARY_DATA_OVER, SUMMARY_DATA_OVER + 1, 700, 16_000][i % 6] as number
    const e: Entry = { name: Buffer.from(`f${String(i).padStart(6, '0')}`), type: EntryType.File, mode: 0o644, uid: 1, gid: 2, size: len, mtime: [1_700_000_000 + i, i], ctime: [1_700_000_000, 5], ino: 1000 + i }
    if (len > 0) e.data = Buffer.alloc(len, (i + seed) & 0xff)
    if (i % 7 === 3) e.xattrs = [[Buffer.from('user.k'), Buffer.from([0, 1, 0xff])]]
    if (i % 11 === 5) e.link = Buffer.from(`/x/f${i}`)
    out.push(e)
  }
  out.push({ name: Buffer.from('zchunks'), type: EntryType.File, mode: 0o600, uid: 0, gid: 0, size: 300_000, mtime: [1, 0], ctime: [1, 0], ino: 7, chunks: [{ hash: Buffer.alloc(32, 9), length: 300_000 }] })
  out.push({ name: Buffer.from('zdir'), type: EntryType.Dir, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: [1, 0], ctime: [1, 0], ino: 8, tree: Buffer.alloc(32, 3) })
  return out
}

t.test('a summary is the tree without its longer inline data, and decodes to placeholders for it', async t => {
  const list = entries(60)
  const bytes = encodeTree(list)
  const s = summarize(ObjectKind.Tree, bytes)
  if (s === null) throw new Error('no summary')
  const long = list.filter(e => (e.data?.length ?? 0) > SUMMARY_DATA_OVER)
  const cut = long.reduce((n, e) => n + (e.data?.length ?? 0) - 32, 0)
  t.ok(s.length <= bytes.length - cut + 1, `${bytes.length} bytes of tree, ${s.length} of summary (${cut} cut)`)
  // Two files of the same bytes (hardlinks, copies) have the same digest.
  const twin = list.map(e => ({ ...e }))
  const a = twin[4] as Entry
  const b = twin[10] as Entry
  b.data = a.data as Buffer
  b.size = a.size
  const sb = summarize(ObjectKind.Tree, encodeTree(twin)) as Buffer
  t.ok(sb.includes(Buffer.concat([Buffer.from([0xc4, 32]), createHash('sha256').update(a.data as Buffer).digest()])), 'the data replaced by its SHA-256')
  t.equal(summarize(ObjectKind.Data, bytes), null, 'a data chunk has none')
  // Data not as long as the entry's size (no tree tarshift writes has it) is never cut: a
  // summary tells a digest from data by the size.
  const odd: Entry[] = [{ ...(list[4] as Entry), size: 10 }, { ...(list[5] as Entry), size: 99_999 }]
  const so = summarize(ObjectKind.Tree, encodeTree(odd)) as Buffer
  t.same(so.subarray(1), encodeTree(odd), 'data of another length than the size stays whole')
  // msgpack of another key order: a tree, but not as tarshift writes it.
  const other = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true }).pack({ e: [], v: 1 })
  t.equal(summarize(ObjectKind.Tree, other), null, 'an encoding this reader does not take has none')
})

/** A savedir of format version 2 (no slices), as made before version 3. */
function asVersion2(savedir: string): string {
  const f = path.join(savedir, 'tarshift.json')
  fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), version: 2 }))
  return savedir
}

t.test('entries from summaries: equal but for placeholders; the writer writes the same tree (format version 2)', async t => {
  const savedir = asVersion2(newSavedir(t, ['--chunk-size', '64K']))
  await withStore(savedir, async store => {
    for (const n of [60, 3000]) {
      const list = entries(n)
      const cache = new MapCache()
      const hash = await writeTree(store, list, (hex, kind, data) => recordSummary(cache, hex, kind, data))
      await store.flush()
      const opened = await openTree(store, hash)
      if (n > 60) t.ok(opened.parts.length > 1, `${n}: a tree index of ${opened.parts.length} parts`)
      t.equal(cache.map.size, 1 + opened.parts.length, `${n}: a summary of each object written`)
      const reader = new SummaryTreeReader(store, cache)
      const first = await reader.open(hash)
      const got = [...first.first]
      for (const p of first.parts.slice(1)) got.push(...await reader.part(p))
      t.equal(reader.stats.objects, 0, `${n}: nothing read from the savedir`)
      t.equal(got.length, list.length)
      let placeholders = 0
      let wrong = 0
      for (let i = 0; i < got.length; i++) {
        const g = got[i] as Entry
        const w = list[i] as Entry
        const long = (w.data?.length ?? 0) > SUMMARY_DATA_OVER
        if (long) {
          if (g.data === undefined || placeholderOrigin(g.data) === undefined) wrong++
          else placeholders++
          if (!sameEntry(g, w) || !sameEntry(w, g)) wrong++ // compared by digest
          const other = Buffer.from(w.data as Buffer)
          other[0] = (other[0] as number) ^ 1
          if (sameEntry(g, { ...w, data: other })) wrong++
        } else if (!sameEntry(g, w)) wrong++
      }
      t.equal(wrong, 0, `${n}: every field equal, the longer data placeholders that compare as the data`)
      t.equal(placeholders, list.filter(e => (e.data?.length ?? 0) > SUMMARY_DATA_OVER).length, `${n}: ${placeholders} placeholders`)
      // Read again: other placeholder objects for the same entries are the same.
      const again = (await new SummaryTreeReader(store, cache).open(hash)).first
      t.ok(sameEntries(again, first.first), `${n}: the same entries read twice compare equal`)
      const a3 = again[3] as Entry
      const a4 = again[4] as Entry
      t.notOk(sameEntry({ ...a3, data: a4.data as Buffer }, a3), `${n}: placeholders of two entries differ`)
      t.throws(() => encodeEntry(a4), /placeholder/, `${n}: a placeholder is never encoded as empty data`)
      // The writer, given the entries from summaries, puts the real data back: the same tree.
      const w = new TreeWriter(store)
      for (const e of got) await w.add(e)
      t.equal((await w.finish()).hash.toString('hex'), hash.toString('hex'), `${n}: the writer writes the same tree`)
      t.ok(reader.stats.dataFetches >= 1 && reader.stats.dataFetches <= 2 * Math.max(1, opened.parts.length), `${n}: each part read for its data about once (${reader.stats.dataFetches})`)
      // A snapshot too.
      const snap = await new TreeWriter(store).snapshot(got)
      t.equal(snap.hash.toString('hex'), hash.toString('hex'), `${n}: a snapshot of them too`)
    }
  })
})

t.test('without a summary the tree is read from the savedir, and its summary recorded', async t => {
  const savedir = newSavedir(t)
  await withStore(savedir, async store => {
    const list = entries(30, 1)
    const hash = await writeTree(store, list)
    await store.flush()
    const cache = new MapCache()
    const reader = new SummaryTreeReader(store, cache)
    const first = await reader.open(hash)
    t.equal(reader.stats.objects, 1, 'read from the savedir')
    t.ok(sameEntries(first.first, list), 'the real entries')
    t.ok(cache.hasSummary(hash.toString('hex')), 'its summary recorded')
    const second = new SummaryTreeReader(store, cache)
    await second.open(hash)
    t.equal(second.stats.objects, 0, 'the next reader takes the summary')
    t.same(await readTree(store, hash), list, 'the tree itself is unchanged')
  })
})

t.test('a damaged summary is taken as missing: the tree is read from the savedir', async t => {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  await withStore(savedir, async store => {
    const list = entries(3000, 3)
    const single = entries(20, 4)
    const hash = await writeTree(store, list)
    const small = await writeTree(store, single)
    await store.flush()
    const cache = new MapCache()
    cache.recordSummary(hash.toString('hex'), Buffer.from([2, 0xc1, 0xc1])) // an index summary, undecodable
    cache.recordSummary(small.toString('hex'), Buffer.from([1, 0xc1])) // a tree summary, undecodable
    const reader = new SummaryTreeReader(store, cache)
    const opened = await reader.open(hash)
    t.ok(opened.parts.length > 1, 'the tree index, read from the savedir')
    t.same(opened.parts, (await openTree(store, hash)).parts, 'with its parts')
    t.ok(sameEntries((await reader.open(small)).first, single), 'the single tree, read from the savedir')
    t.equal(reader.stats.objects, 2 + 1, 'three objects read (the index, its first part, the tree)')
  })
})

t.test('a placeholder whose tree is gone: SummaryDataLost, never empty data', async t => {
  const savedir = newSavedir(t)
  await withStore(savedir, async store => {
    const { hash, cache } = await withSummaries(store, entries(30, 2))
    fs.rmSync(dataPath(savedir, hash.toString('hex')))
    const thrown = await writeFails(store, (await new SummaryTreeReader(store, cache).open(hash)).first)
    t.ok(thrown instanceof SummaryDataLost, `SummaryDataLost (${String(thrown)})`)
  })
})

t.test('where a placeholder\'s data lies is found only when a writer asks; a summary that cannot say is data lost', async t => {
  const savedir = newSavedir(t)
  await withStore(savedir, async store => {
    const list = entries(30, 5)
    const { hash, cache } = await withSummaries(store, list)
    // The same summary with the size after the data in every entry: it decodes to the same
    // entries, but the digests can no longer be told by the sizes before them (digestRanges).
    const hex = hash.toString('hex')
    const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })
    const wire = packr.unpack((cache.map.get(hex) as Buffer).subarray(1)) as { v: number; e: Array<Record<string, unknown>> }
    wire.e = wire.e.map(({ s: size, ...rest }) => ({ ...rest, s: size }))
    cache.map.set(hex, Buffer.concat([Buffer.from([1]), packr.pack(wire)]))
    const reader = new SummaryTreeReader(store, cache)
    const got = (await reader.open(hash)).first
    t.same(reader.stats, { summaries: 1, objects: 0, dataFetches: 0 }, 'opened from its summary: nothing asked where the data lies')
    t.ok(sameEntries(got, list), 'and it compares equal to the tree, placeholders and all')
    const thrown = await writeFails(store, got)
    t.ok(thrown instanceof SummaryDataLost, `a writer slicing its data: SummaryDataLost (${String(thrown)}), the save starts over without summaries`)
  })
})

t.test('the local cache keeps summaries, drops them at a new generation or past its limit', async t => {
  const dir = tmpDirFor(t, 'tarshift-summaries-')
  const savedir = newSavedir(t)
  const old = process.env.XDG_CACHE_HOME
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache')
  t.teardown(() => { if (old === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = old })
  const s = Buffer.from('summary bytes')
  const name = (c: string): string => c.repeat(64)
  let c = await ObjectCache.open(savedir, 'repo1', 1, false, 100)
  c.recordSummary(name('a'), s)
  await c.close()
  c = await ObjectCache.open(savedir, 'repo1', 1, false, 100)
  t.same(c.summary(name('a')), s, 'kept across opens')
  t.ok(c.hasSummary(name('a')))
  t.equal(c.summary(name('b')), undefined, 'none for another tree')
  for (let i = 0; i < 10; i++) c.recordSummary(name(String(i)), s)
  await c.close()
  c = await ObjectCache.open(savedir, 'repo1', 1, false, 100)
  t.ok(!c.hasSummary(name('a')) && !c.hasSummary(name('0')), 'past the limit, the old ones are dropped')
  c.recordSummary(name('c'), s)
  await c.close()
  c = await ObjectCache.open(savedir, 'repo1', 2, false, 100)
  t.notOk(c.hasSummary(name('c')), 'a new generation drops them')
  await c.close()
  const off = await ObjectCache.open(savedir, 'repo1', 2, true)
  off.recordSummary(name('d'), s)
  t.equal(off.summary(name('d')), undefined, '--no-cache keeps none')
})

t.test('format version 3: the writer makes each placeholder a slice of its tree, exactly where its data is', async t => {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  await withStore(savedir, async store => {
    for (const n of [60, 3000]) {
      const list = entries(n, 1)
      const cache = new MapCache()
      const hash = await writeTree(store, list, (hex, kind, data) => recordSummary(cache, hex, kind, data))
      await store.flush()
      const reader = new SummaryTreeReader(store, cache)
      const first = await reader.open(hash)
      const got = [...first.first]
      for (const p of first.parts.slice(1)) got.push(...await reader.part(p))
      const w = new TreeWriter(store)
      for (const e of got) await w.add(e)
      const written = await w.finish()
      await store.flush()
      t.not(written.hash.toString('hex'), hash.toString('hex'), `${n}: another tree`)
      const back = await readTree(store, written.hash)
      const parts = new Set([hash, ...first.parts].map(h => h.toString('hex')))
      let slices = 0
      let wrong = 0
      for (let i = 0; i < back.length; i++) {
        const b = back[i] as Entry
        const w = list[i] as Entry
        const long = (w.data?.length ?? 0) >= SLICE_MIN
        if (!long) {
          if (!sameEntry(b, w)) wrong++
          continue
        }
        const c = b.chunks?.[0]
        if (b.data !== undefined || b.chunks?.length !== 1 || c?.offset === undefined || !parts.has(c.hash.toString('hex'))) {
          wrong++
          continue
        }
        slices++
        const piece = pieceBytes((await store.get(c.hash.toString('hex'))).data, c)
        if (!Buffer.isBuffer(piece) || !piece.equals(w.data as Buffer)) wrong++
        if (!sameEntry({ ...b, chunks: undefined, data: w.data }, w)) wrong++
      }
      t.equal(wrong, 0, `${n}: the data of ${SLICE_MIN} bytes or more are slices of the tree that held them, the bytes exact; the rest as it was (shorter placeholders' real bytes read back)`)
      t.equal(slices, list.filter(e => (e.data?.length ?? 0) >= SLICE_MIN).length, `${n}: ${slices} slices`)
    }
  })
})
