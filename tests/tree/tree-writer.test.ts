// Writing a directory's tree as its entries arrive: the same objects as the split rule of
// doc/format.md applied to the whole list (a second implementation of it here, from the
// document), while holding at most about one maximum chunk of encoded entries.
import t from 'tap'
import { createHash } from 'node:crypto'
import { newSavedir } from '../helpers/cli.js'
import { withStore } from '../helpers/saved-tree.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'
import { decodeTree, encodeEntry, encodeTree, encodeTreeIndex, treeFromEncodedEntries } from '../../lib/tree/tree-codec.js'
import { SLICE_SOURCES_MAX, TreeWriter, writeTree } from '../../lib/tree/tree-writer.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { readTree, treeObjects } from '../../lib/tree/tree-store.js'
import { readConfig, slicesAllowed, treePartsOf, type TreeParts } from '../../lib/repo/config.js'
import { CONFIG_FILE } from '../../lib/repo/layout.js'
import fs from 'node:fs'
import path from 'node:path'

/** A savedir with its config's treeParts replaced (undefined: none, as before session 15). */
function savedirWithParts(t: Parameters<typeof newSavedir>[0], args: string[], parts: TreeParts | undefined): string {
  const savedir = newSavedir(t, args)
  const file = path.join(savedir, CONFIG_FILE)
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { treeParts?: unknown }
  if (parts === undefined) delete config.treeParts
  else config.treeParts = parts
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n')
  return savedir
}

function entry(i: number, extra = 0): Entry {
  const e: Entry = {
    name: Buffer.from(`entry-${String(i).padStart(7, '0')}`),
    type: EntryType.File,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    size: 0,
    mtime: [1_700_000_000 + i, i % 1_000_000_000],
    ctime: [1_700_000_000 + i, 7],
    ino: 100_000 + i,
  }
  // Sizes vary from entry to entry, so parts end on either rule.
  const n = (i * 7919) % 97 + extra
  if (n > 0) {
    e.data = Buffer.alloc(n, i & 0xff)
    e.size = n
  }
  return e
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** doc/format.md §5.5, written from the document: the object names of the whole list's tree. */
function expected(entries: Entry[], { min, max, mask, entryWeight }: Required<TreeParts>): { hash: string; parts: string[] } {
  const whole = encodeTree(entries)
  if (whole.length + entryWeight * entries.length <= max) return { hash: sha(whole), parts: [] }
  const fnv = (b: Buffer): number => {
    let h = 0x811c9dc5
    for (const x of b) h = Math.imul(h ^ x, 0x01000193) >>> 0
    return h
  }
  const parts: Entry[][] = []
  let start = 0
  let bytes = 0
  entries.forEach((e, i) => {
    const size = encodeEntry(e).length + entryWeight
    if (i > start && bytes + size > max - 64) {
      parts.push(entries.slice(start, i))
      start = i
      bytes = 0
    }
    bytes += size
    if (bytes >= min && (fnv(e.name) & mask) === 0) {
      parts.push(entries.slice(start, i + 1))
      start = i + 1
      bytes = 0
    }
  })
  if (start < entries.length) parts.push(entries.slice(start))
  const names = parts.map(p => sha(encodeTree(p)))
  return { hash: sha(encodeTreeIndex(names.map(n => Buffer.from(n, 'hex')))), parts: names }
}

t.test('treeFromEncodedEntries is encodeTree, at every array header size', async t => {
  for (const n of [0, 1, 15, 16, 17, 65535, 65536, 65537]) {
    const entries = Array.from({ length: n }, (_, i) => entry(i))
    t.ok(treeFromEncodedEntries(entries.map(e => Buffer.from(encodeEntry(e)))).equals(encodeTree(entries)), `${n} entries`)
  }
})

const custom: TreeParts = { min: 16 * 1024, max: 128 * 1024, mask: 0x0f }
const kinds: Record<string, { parts: TreeParts | undefined | 'init'; rule: Required<TreeParts> }> = {
  // 64 KiB average chunks: parts of 64-256 KiB with mask 0x3f, each entry counting 128 bytes
  // more (a part holds at most 2,048 entries), from the config or, without treeParts there,
  // from the chunker's maximum.
  default: { parts: 'init', rule: { min: 64 * 1024, max: 256 * 1024, mask: 0x3f, entryWeight: 128 } },
  'none in the config': { parts: undefined, rule: { min: 64 * 1024, max: 256 * 1024, mask: 0x3f, entryWeight: 128 } },
  // Another rule written into the config; one from before entryWeight (its default then).
  custom: { parts: { ...custom, entryWeight: 300 }, rule: { ...custom, entryWeight: 300 } },
  'custom without entryWeight': { parts: custom, rule: { ...custom, entryWeight: 64 } },
  // Entries counted by their bytes alone: the rule before session 21.
  'entryWeight 0': { parts: { ...custom, entryWeight: 0 }, rule: { ...custom, entryWeight: 0 } },
}
for (const [kind, { parts, rule: want }] of Object.entries(kinds)) {
  t.test(`streamed trees equal the split rule applied to the whole list (${kind})`, async t => {
    // A few thousand entries make parts.
    const args = ['--chunk-size', '64K']
    const savedir = parts === 'init' ? newSavedir(t, args) : savedirWithParts(t, args, parts)
    await withStore(savedir, async store => {
      const rule = treePartsOf(store.config)
      t.same(rule, want, 'the rule of the savedir')
      const max = rule.max
      for (const n of [0, 1, 100, 2000, 2300, 3000, 12_000]) {
        const entries = Array.from({ length: n }, (_, i) => entry(i))
        const want = expected(entries, rule)
        const w = new TreeWriter(store)
        let held = 0
        for (const e of entries) {
          await w.add(e)
          held = Math.max(held, w.heldBytes)
        }
        const got = await w.finish()
        t.equal(got.hash.toString('hex'), want.hash, `${n} entries: the same tree`)
        t.same(got.parts.map(p => p.toString('hex')), want.parts, `${n} entries: the same parts (${want.parts.length})`)
        t.ok(held <= max, `${n} entries: held at most the maximum encoded (${held})`)
        t.equal(w.length, n)
        if (rule.entryWeight > 0 && got.parts.length > 0) {
          // Entries of ~70 bytes: parts are bounded by their count of entries, not their bytes.
          await store.flush()
          const most = Math.max(...await Promise.all(got.parts.map(async p => (await readTree(store, p)).length)))
          t.ok(most <= max / rule.entryWeight, `${n} entries: at most max / entryWeight entries a part (${most})`)
        }
      }
      await store.flush()
      // What was written reads back as the list.
      const entries = Array.from({ length: 12_000 }, (_, i) => entry(i))
      const hash = await writeTree(store, entries)
      await store.flush()
      t.ok((await treeObjects(store, hash)).parts.length >= 4, 'a tree index')
      t.same(await readTree(store, hash), entries.map(e => decodeTree(encodeTree([e]))[0]), 'reads back whole')
    })
  })
}

t.test('one entry larger than the maximum is a part of its own', async t => {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  await withStore(savedir, async store => {
    const entries = Array.from({ length: 2500 }, (_, i) => entry(i, i === 1200 ? 300 * 1024 : 0))
    const w = new TreeWriter(store)
    for (const e of entries) await w.add(e)
    const got = await w.finish()
    t.equal(got.hash.toString('hex'), expected(entries, treePartsOf(store.config)).hash)
  })
})

t.test('snapshot: the tree of the entries so far and some more, the writer unchanged', async t => {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  await withStore(savedir, async store => {
    const rule = treePartsOf(store.config)
    for (const [n, cut] of [[50, 20], [3000, 10], [3000, 1500], [9000, 8000]] as const) {
      const entries = Array.from({ length: n }, (_, i) => entry(i))
      const w = new TreeWriter(store)
      for (const e of entries.slice(0, cut)) await w.add(e)
      const extra = [entry(n + 1), entry(n + 2)]
      const snap = await w.snapshot(extra)
      t.equal(snap.hash.toString('hex'), expected([...entries.slice(0, cut), ...extra], rule).hash, `${n}/${cut}: snapshot`)
      for (const e of entries.slice(cut)) await w.add(e)
      t.equal((await w.finish()).hash.toString('hex'), expected(entries, rule).hash, `${n}/${cut}: the writer goes on as before`)
    }
  })
})

t.test(`slices of more than ${SLICE_SOURCES_MAX} objects in one part: the later files' bytes go inline again, exact`, async t => {
  const savedir = newSavedir(t)
  await withStore(savedir, async store => {
    // 24 objects, each holding the bytes of one file at an offset (as an earlier tree part would).
    const sources: Array<{ hash: Buffer; bytes: Buffer }> = []
    for (let k = 0; k < 24; k++) {
      const bytes = Buffer.concat([Buffer.alloc(50 + k, 0xee), Buffer.from(`content of file ${k} `.repeat(10))])
      const hex = await store.put(Buffer.concat([Buffer.from(`object ${k}:`), bytes]), ObjectKind.Tree).then(r => r.hash)
      sources.push({ hash: Buffer.from(hex, 'hex'), bytes })
    }
    await store.flush()
    const sliced = (k: number): Entry => {
      const s = sources[k] as { hash: Buffer; bytes: Buffer }
      const prefix = `object ${k}:`.length + 50 + k
      const { data: _data, ...meta } = entry(k)
      return { ...meta, size: s.bytes.length - 50 - k, chunks: [{ hash: s.hash, length: s.bytes.length - 50 - k, offset: prefix }] }
    }
    const w = new TreeWriter(store)
    for (let k = 0; k < 24; k++) await w.add(sliced(k))
    const written = await w.finish()
    await store.flush()
    const back = await readTree(store, written.hash)
    t.equal(back.length, 24)
    const kept = back.filter(e => e.chunks !== undefined)
    t.equal(kept.length, SLICE_SOURCES_MAX, `the first ${SLICE_SOURCES_MAX} keep their slices`)
    t.ok(kept.every((e, k) => e.chunks?.[0]?.hash.equals((sources[k] as { hash: Buffer }).hash)), 'unchanged')
    const again = back.slice(SLICE_SOURCES_MAX)
    t.ok(again.every((e, j) => e.data !== undefined && e.data.equals(Buffer.from(`content of file ${SLICE_SOURCES_MAX + j} `.repeat(10)))), 'the rest inline, their exact bytes')
  })
})

t.test('a savedir of format version 2 gets no slices: placeholders are real data again (tree-summary.test.ts)', async t => {
  const savedir = newSavedir(t)
  const config = JSON.parse(fs.readFileSync(path.join(savedir, CONFIG_FILE), 'utf8')) as { version: number }
  t.equal(config.version, 3, 'init writes format version 3')
  t.equal(slicesAllowed({ ...readConfig(savedir), version: 2 }), false)
  t.equal(slicesAllowed(readConfig(savedir)), true)
})
