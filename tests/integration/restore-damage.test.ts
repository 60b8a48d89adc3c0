// Damaged savedirs (DESIGN.md §7: "Never silent"). A byte flipped in one chunk of a multi-chunk
// file: the restore names the file, zero-fills the member from that chunk on, keeps the stream
// complete (tar reads every member) and exits 2. --stop-on-error stops at the first damaged
// file, after handing over everything before it. A deleted chunk: the file is left out and
// named, everything else restores, exit 2. Each case damages the one savedir and undoes it
// afterwards (copies of a savedir, 256 fan-out directories each, are slow to remove).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { FULL, seededBytes } from '../helpers/fixture-tree.js'
import { compareTrees } from '../helpers/compare-trees.js'
import { snapshotTree } from '../helpers/tree-snapshot.js'
import { summaryOf, tarshift } from '../helpers/cli.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'
import type { ChunkRef } from '../../lib/tree/entry.js'
import { EXTRACT, restoreToTar, savedFullFixture, tarNames, tarOn } from '../helpers/restore-run.js'

const P = FULL.paths
const BIG = 3 * 1024 * 1024 + 12345
const fx = savedFullFixture(t, BIG, ['--chunk-size', '256K'])
const bigAbs = path.join(fx.src, P.big)
const bigBytes = seededBytes(BIG, FULL.bigSeed)
const later = 'inline-16385.bin' // after big.bin in name order, one chunk object of its own

async function chunksOf(abs: string): Promise<ChunkRef[]> {
  const root = summaryOf(fx.savedir, fx.id).root
  if (!root) throw new Error('saveset has no root')
  const items = await withStore(fx.savedir, store => savedSubtree(store, root, abs))
  return items[0]?.entry.chunks ?? []
}

function dataFile(savedir: string, c: ChunkRef): string {
  const hex = c.hash.toString('hex')
  return path.join(savedir, 'chunks', hex.slice(0, 2), `${hex}.data`)
}

/** Inverts one byte in the middle of the object's payload (after its 16-byte header). */
function flipPayloadByte(file: string): void {
  const size = fs.statSync(file).size
  const at = 16 + Math.floor((size - 16) / 2)
  const fd = fs.openSync(file, 'r+')
  try {
    const b = Buffer.alloc(1)
    fs.readSync(fd, b, 0, 1, at)
    b[0] = (b[0] as number) ^ 0xff
    fs.writeSync(fd, b, 0, 1, at)
  } finally {
    fs.closeSync(fd)
  }
}

/** Runs `fn` with the objects of `flip` damaged and those of `remove` gone, then puts them back. */
async function withDamage(damage: { flip?: ChunkRef[]; remove?: ChunkRef[] }, fn: (savedir: string) => Promise<void>): Promise<void> {
  const saved = new Map<string, Buffer>()
  for (const c of [...(damage.flip ?? []), ...(damage.remove ?? [])]) {
    const f = dataFile(fx.savedir, c)
    saved.set(f, fs.readFileSync(f))
  }
  try {
    for (const c of damage.flip ?? []) flipPayloadByte(dataFile(fx.savedir, c))
    for (const c of damage.remove ?? []) fs.unlinkSync(dataFile(fx.savedir, c))
    await fn(fx.savedir)
  } finally {
    for (const [f, bytes] of saved) fs.writeFileSync(f, bytes, { mode: 0o600 })
  }
}

function outDir(name: string): string {
  const d = path.join(fx.dir, name)
  fs.mkdirSync(d)
  return d
}

const bigChunks = await chunksOf(bigAbs)
const laterChunks = await chunksOf(path.join(fx.src, later))
const pristine = tarNames(tarshift(['restore', '-r', fx.savedir, 'latest']).stdout).names
const bigMember = `${fx.base}/${P.big}`

t.test('the fixture: big.bin spans more than three chunks, the later file one', async t => {
  t.ok(bigChunks.length > 3, `big.bin has ${bigChunks.length} chunks`)
  t.equal(laterChunks.length, 1)
  t.ok(pristine.includes(bigMember))
})

t.test('a flipped byte: named, zero-filled from the bad chunk on, stream complete, exit 2', async t => {
  const bad = 1
  const badChunk = bigChunks[bad] as ChunkRef
  await withDamage({ flip: [badChunk] }, async sd => {
    const offset = bigChunks.slice(0, bad).reduce((n, c) => n + c.length, 0)
    const out = outDir('out-flip')
    const r = await restoreToTar(['-r', sd, 'latest'], [...EXTRACT, '-C', out])
    t.equal(r.restore.status, 2, 'restore exits 2')
    t.equal(r.tar.status, 0, `tar extracts the whole stream; ${r.tar.stderr}`)
    const errors = r.restore.stderr.split('\n').filter(l => l.startsWith('tarshift: error: '))
    t.equal(errors.length, 1, 'one error line')
    t.match(errors[0], `/${bigMember}: corrupt object ${badChunk.hash.toString('hex')}`, 'names the file and the object')
    t.match(errors[0], `the rest of the file (${BIG - offset} bytes) is zero-filled`)
    t.match(r.restore.stderr, /tarshift: 1 file\(s\) damaged in saveset .*; run tarshift check --read-data/)

    const restored = fs.readFileSync(path.join(out, bigMember))
    t.equal(restored.length, BIG, 'the member keeps its size')
    t.ok(restored.subarray(0, offset).equals(bigBytes.subarray(0, offset)), 'bytes before the bad chunk are intact')
    t.ok(restored.subarray(offset).equals(Buffer.alloc(BIG - offset)), 'zeros from the bad chunk to the end')
    const diffs = compareTrees(snapshotTree(fx.src), snapshotTree(path.join(out, fx.base)))
    t.same(diffs.map(d => d.replace(/ a=.*/, '')), [`${P.big}: sha256`], 'everything else restores exactly')

    // The same stream as a file: tar lists every member.
    const again = tarshift(['restore', '-r', sd, 'latest'])
    t.equal(again.status, 2)
    const listed = tarNames(again.stdout)
    t.equal(listed.status, 0, 'tar -tf succeeds')
    t.same(listed.names, pristine, 'all members listed')
  })
})

t.test('--stop-on-error stops at the first damaged file', async t => {
  await withDamage({ flip: [bigChunks[1] as ChunkRef, laterChunks[0] as ChunkRef] }, async sd => {
    const all = tarshift(['restore', '-r', sd, 'latest'])
    t.equal(all.status, 2)
    t.match(all.stderr, `/${bigMember}: corrupt object`)
    t.match(all.stderr, `/${fx.base}/${later}: corrupt object`)
    t.match(all.stderr, /tarshift: 2 file\(s\) damaged/, 'without it, both are named and the stream goes on')
    t.same(tarNames(all.stdout).names, pristine)

    const stop = tarshift(['restore', '-r', sd, 'latest', '--stop-on-error'])
    t.equal(stop.status, 2)
    const errors = stop.stderr.split('\n').filter(l => l.startsWith('tarshift: error: '))
    t.equal(errors.length, 1, 'only the first damaged file is named')
    t.match(errors[0], `/${bigMember}: corrupt object`)
    t.notMatch(stop.stderr, later)
    t.match(stop.stderr, `stopped at the first damaged file (/${bigMember}); the tar stream is incomplete`)
    // The stream ends inside big.bin: tar fails on it, and nothing after it is there.
    const listed = tarNames(stop.stdout)
    t.equal(listed.status, 2, 'tar reports the cut')
    t.match(listed.stderr, /Unexpected EOF in archive/)
    t.same(listed.names, pristine.slice(0, pristine.indexOf(bigMember) + 1), 'members up to the damaged one')
  })
})

t.test('--stop-on-error hands over everything before the damaged file', async t => {
  await withDamage({ flip: [laterChunks[0] as ChunkRef] }, async sd => {
    const r = tarshift(['restore', '-r', sd, 'latest', '--stop-on-error'])
    t.equal(r.status, 2)
    t.match(r.stderr, `stopped at the first damaged file (/${fx.base}/${later})`)
    const laterMember = `${fx.base}/${later}`
    t.same(tarNames(r.stdout).names, pristine.slice(0, pristine.indexOf(laterMember) + 1))
    // Everything before it (3 MiB of big.bin among it) extracts whole.
    const out = outDir('out-stop-later')
    const x = tarOn(r.stdout, [...EXTRACT, '-C', out])
    t.equal(x.status, 2, 'tar fails at the cut member')
    const before = pristine.slice(0, pristine.indexOf(laterMember)).filter(n => n.startsWith(`${fx.base}/`) && !n.endsWith('/'))
    t.ok(before.includes(bigMember))
    for (const n of before) {
      const rel = n.slice(fx.base.length + 1)
      t.ok(fs.readFileSync(path.join(out, n)).equals(fs.readFileSync(path.join(fx.src, rel))), `${rel} is whole`)
    }
  })
})

t.test('a deleted chunk: the file is left out and named, the rest restores, exit 2', async t => {
  const gone = bigChunks[2] as ChunkRef
  await withDamage({ remove: [gone] }, async sd => {
    const out = outDir('out-missing')
    const r = await restoreToTar(['-r', sd, 'latest'], [...EXTRACT, '-C', out])
    t.equal(r.restore.status, 2, 'restore exits 2')
    t.equal(r.tar.status, 0, `tar extracts the rest; ${r.tar.stderr}`)
    t.match(r.restore.stderr, `tarshift: error: /${bigMember}: data object ${gone.hash.toString('hex')} is missing; file not restored`)
    t.match(r.restore.stderr, /tarshift: 1 file\(s\) damaged/)
    t.same(compareTrees(snapshotTree(fx.src), snapshotTree(path.join(out, fx.base))), [`${P.big}: only in a (file)`], 'only big.bin is missing')

    const again = tarshift(['restore', '-r', sd, 'latest'])
    const listed = tarNames(again.stdout)
    t.equal(listed.status, 0)
    t.same(listed.names, pristine.filter(n => n !== bigMember), 'every other member is in the stream')
  })
})

t.test('a deleted chunk beyond the read-ahead window: still found before the header', async t => {
  // A 300 KiB window holds about one 256 KiB chunk: the last chunks of big.bin are not being
  // read when its header is due, and are looked for on disk instead.
  const gone = bigChunks[bigChunks.length - 1] as ChunkRef
  await withDamage({ remove: [gone] }, async sd => {
    const out = outDir('out-missing-late')
    const r = await restoreToTar(['-r', sd, 'latest'], [...EXTRACT, '-C', out], { TARSHIFT_RESTORE_READ_AHEAD: '300K' })
    t.equal(r.restore.status, 2, 'restore exits 2')
    t.equal(r.tar.status, 0, `tar extracts the rest; ${r.tar.stderr}`)
    t.match(r.restore.stderr, `tarshift: error: /${bigMember}: data object ${gone.hash.toString('hex')} is missing; file not restored`)
    t.same(compareTrees(snapshotTree(fx.src), snapshotTree(path.join(out, fx.base))), [`${P.big}: only in a (file)`], 'only big.bin is missing')
  })
})

t.test('undone damage: the savedir restores whole again', async t => {
  const r = tarshift(['restore', '-r', fx.savedir, 'latest'])
  t.equal(r.status, 0, r.stderr)
  t.same(tarNames(r.stdout).names, pristine)
})
