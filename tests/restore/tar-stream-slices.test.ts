// The restore engine (lib/restore/tar-stream.ts) reading slices (doc/format.md §5.6): files
// that are ranges of one object, of several, mixed with whole chunks, read through GNU tar; a
// slice past its object's end is named and zero-filled, never read past; a missing object
// leaves its files out, named.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { newSavedir } from '../helpers/cli.js'
import { withStore } from '../helpers/saved-tree.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { tarOn } from '../helpers/restore-run.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { EntryType, type ChunkRef, type Entry } from '../../lib/tree/entry.js'
import { OutputSink } from '../../lib/restore/output-sink.js'
import { writeTarStream } from '../../lib/restore/tar-stream.js'
import type { WalkItem } from '../../lib/restore/saveset-walk.js'

function file(name: string, size: number, chunks: ChunkRef[]): WalkItem {
  const entry: Entry = { name: Buffer.from(name), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, size, mtime: [1_700_000_000, 0], ctime: [1_700_000_000, 0], ino: 1, chunks }
  return { path: Buffer.from(`d/${name}`), entry }
}

async function* items(list: WalkItem[]): AsyncGenerator<WalkItem> {
  yield { path: Buffer.from('d'), entry: { name: Buffer.from('d'), type: EntryType.Dir, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: [1_700_000_000, 0], ctime: [1_700_000_000, 0], ino: 2 } }
  for (const i of list) yield i
}

t.test('slices of objects, alone and mixed with whole chunks, restore exact; a bad slice is named and zero-filled', async t => {
  const savedir = newSavedir(t)
  const out = tmpDirFor(t, 'tarshift-slices-out-')
  const a = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31 + 7) & 0xff))
  const b = Buffer.from('the bytes of a second object, a tree part perhaps')
  const whole = Buffer.from('a whole chunk')
  await withStore(savedir, async store => {
    const ha = Buffer.from((await store.put(a, ObjectKind.Tree)).hash, 'hex')
    const hb = Buffer.from((await store.put(b, ObjectKind.Data)).hash, 'hex')
    const hw = Buffer.from((await store.put(whole, ObjectKind.Data)).hash, 'hex')
    await store.flush()
    // Many files sliced from one object (a changed directory), then others.
    const list: WalkItem[] = []
    const want = new Map<string, Buffer>()
    for (let i = 0; i < 200; i++) {
      const off = (i * 13) % 2900
      const len = 1 + (i % 90)
      list.push(file(`s${String(i).padStart(3, '0')}`, len, [{ hash: ha, length: len, offset: off }]))
      want.set(`s${String(i).padStart(3, '0')}`, a.subarray(off, off + len))
    }
    list.push(file('t-mixed', 4 + whole.length + 6, [{ hash: hb, length: 4, offset: 0 }, { hash: hw, length: whole.length }, { hash: ha, length: 6, offset: 2994 }]))
    want.set('t-mixed', Buffer.concat([b.subarray(0, 4), whole, a.subarray(2994, 3000)]))
    list.push(file('u-past-the-end', 10, [{ hash: hb, length: 10, offset: b.length - 5 }]))
    list.push(file('v-after', 5, [{ hash: hb, length: 5, offset: 4 }]))
    list.push(file('w-whole-too-long', whole.length + 3, [{ hash: hw, length: whole.length + 3 }]))
    want.set('v-after', b.subarray(4, 9))

    const pass = new PassThrough()
    const got: Buffer[] = []
    pass.on('data', (d: Buffer) => got.push(d))
    const lines: string[] = []
    const r = await writeTarStream(store, items(list), new OutputSink(pass), { format: 'pax', stripComponents: 0, prefix: null, stopOnError: false, report: l => lines.push(l) })
    pass.end()
    t.equal(r.damaged, 2, 'two damaged files')
    t.match(lines.join('\n'), /d\/u-past-the-end: corrupt object [0-9a-f]{64}: length 49, the tree's slice needs 54/, 'named, with why')
    t.match(lines.join('\n'), new RegExp(`d/w-whole-too-long: corrupt object ${hw.toString('hex')}: (header says )?length 13, (tree says|expected) 16 \\(${savedir}/[^)]*${hw.toString('hex')}[^)]*\\)`), 'a whole chunk of the wrong length: named, with its file')
    const x = tarOn(Buffer.concat(got), ['-xf', '-', '-C', out])
    t.equal(x.status, 0, `tar -x: ${x.stderr}`)
    let wrong = 0
    for (const [name, bytes] of want) if (!fs.readFileSync(path.join(out, 'd', name)).equals(bytes)) wrong++
    t.equal(wrong, 0, `all ${want.size} good files exact`)
    t.same(fs.readFileSync(path.join(out, 'd', 'u-past-the-end')), Buffer.alloc(10), 'the bad one zero-filled, its size kept')
    t.same(fs.readFileSync(path.join(out, 'd', 'w-whole-too-long')), Buffer.alloc(16), 'the whole chunk of the wrong length: zero-filled')
  })
})
