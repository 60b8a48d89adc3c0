// tarshift check through the real CLI on savedirs damaged at test time (DESIGN.md §7): a clean
// savedir passes; a flipped byte in a chunk passes the structural check but not --read-data,
// which names the object and the file; a deleted tree or chunk is an error naming the savesets
// (and the file); crash leftovers are information (exit 0); an unparsable summary is an error.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { newSavedir, saveOk, showRun, summaryOf } from '../helpers/cli.js'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'
import { treeObjects } from '../../lib/tree/tree-store.js'
import {
  checkJson, flipPayloadByte, kindAndCodec, leaveDeadLock, leaveIncompleteSummary, leaveTemporary, linesOf,
  objectFile, runCheck, savedFixture, savedObjects,
} from '../check/savedir-faults.js'

t.test('a clean savedir: exit 0, "no errors found", counts in --json', async t => {
  const s = savedFixture(t, 2)
  const o = await savedObjects(s, s.ids[0] as string)
  t.ok(o.bigChunks.length >= 8, `big.bin is ${o.bigChunks.length} chunks`)

  const r = runCheck(s.savedir)
  t.equal(r.status, 0, showRun(r))
  t.match(r.out, /\nno errors found\n$/, 'the last line says so')
  t.same(linesOf(r.out, 'error: '), [])

  const rd = runCheck(s.savedir, ['--read-data'])
  t.equal(rd.status, 0, showRun(rd))
  t.match(rd.out, /no errors found/)

  const j = checkJson(s.savedir, ['--read-data'])
  t.equal(j.status, 0, j.stderr)
  t.same(j.report.errors, [])
  t.equal(j.report.savesets, 2)
  t.equal(j.report.incomplete, 0)
  const distinct = new Set([...o.bigChunks, ...o.midChunks]).size
  t.equal(j.report.chunks, distinct, 'every distinct chunk of the savesets, counted once')
  t.equal(j.report.chunksRead, distinct, '--read-data reads each once')
  t.ok(j.report.trees >= 3, `${j.report.trees} trees read`)
  t.equal(j.report.unreferenced, 0, 'no object is unreferenced')
  t.equal(j.report.repair, null)

  const sub = checkJson(s.savedir, ['--read-data-subset', '50%'])
  t.equal(sub.status, 0, sub.stderr)
  t.equal(sub.report.chunksRead, Math.ceil(distinct / 2), 'a 50% subset reads half, rounded up')
  t.equal(sub.report.percent, 50)

  const nolock = runCheck(s.savedir, ['--no-lock'])
  t.equal(nolock.status, 0, `--no-lock: ${showRun(nolock)}`)
  t.same(fs.readdirSync(path.join(s.savedir, 'locks')), [], 'no lock left behind')
})

t.test('bad arguments exit 2', async t => {
  const s = savedFixture(t)
  for (const args of [['--read-data', '--read-data-subset', '10'], ['--read-data-subset', '0'], ['--read-data-subset', '101%'],
    ['--read-data-subset', 'ten'], ['--repair', '--no-lock'], ['extra']]) {
    const r = runCheck(s.savedir, args)
    t.equal(r.status, 2, `${args.join(' ')}: ${showRun(r)}`)
    t.equal(r.out, '', 'nothing on stdout')
  }
})

t.test('a flipped byte in a chunk: only --read-data sees it, and names the object and the file', async t => {
  const s = savedFixture(t)
  const o = await savedObjects(s, s.ids[0] as string)
  const victim = o.bigChunks[3] as string
  t.same(kindAndCodec(s.savedir, victim), [0, 0], 'a data chunk stored raw (random data does not compress)')
  flipPayloadByte(s.savedir, victim, 1000)

  const plain = runCheck(s.savedir)
  t.equal(plain.status, 0, `the structural check reads no data: ${showRun(plain)}`)
  t.match(plain.out, /no errors found/)

  const big = path.join(s.src, 'big.bin')
  for (const args of [['--read-data'], ['--read-data-subset', '100%'], ['--read-data-subset', '100']]) {
    const r = runCheck(s.savedir, args)
    t.equal(r.status, 2, `${args.join(' ')}: ${showRun(r)}`)
    const errors = linesOf(r.out, 'error: ')
    t.equal(errors.length, 1, `${args.join(' ')}: one error`)
    t.match(errors[0], `corrupt chunk ${victim}`, 'names the object')
    t.match(errors[0], big, 'names the file that uses it')
    t.match(errors[0], s.ids[0] as string, 'and the saveset')
    t.match(r.out, /\n1 error found\n$/)
  }

  const j = checkJson(s.savedir, ['--read-data'])
  t.equal(j.status, 2)
  t.equal(j.report.errors.length, 1)
  t.match(j.report.errors[0], { kind: 'corrupt-chunk', object: victim, savesets: [s.ids[0]], paths: [big] })
  t.same(j.report.damaged, [{ saveset: s.ids[0], lost: [{ object: victim, what: 'chunk', state: 'corrupt', path: big }] }])
  t.ok(fs.existsSync(objectFile(s.savedir, victim)), 'check without --repair changes nothing')
})

t.test('a deleted tree: exit 2 naming the object, the directory and every saveset that has it', async t => {
  const s = savedFixture(t, 2)
  const [o1, o2] = [await savedObjects(s, s.ids[0] as string), await savedObjects(s, s.ids[1] as string)]
  t.equal(o2.subTree, o1.subTree, 'the unchanged sub/ is one tree shared by both savesets')
  t.not(o1.subTree, o1.root, 'not a root tree')
  t.equal(kindAndCodec(s.savedir, o1.subTree)[0], 1, 'header byte 5: a tree')
  fs.unlinkSync(objectFile(s.savedir, o1.subTree))

  const r = runCheck(s.savedir)
  t.equal(r.status, 2, showRun(r))
  const errors = linesOf(r.out, 'error: ')
  t.equal(errors.length, 1, 'one error (what is below it is not reported again)')
  t.match(errors[0], `missing tree ${o1.subTree}`)
  t.match(errors[0], path.join(s.src, 'sub'))
  for (const id of s.ids) t.match(errors[0], id, `names saveset ${id}`)

  const j = checkJson(s.savedir)
  t.match(j.report.errors, [{ kind: 'missing-tree', object: o1.subTree, savesets: s.ids, paths: [path.join(s.src, 'sub')] }])
  t.same(j.report.damaged.map(d => d.saveset), s.ids, 'both savesets are damaged')
  t.ok(j.report.info.some(i => i.kind === 'unreferenced'), 'what only the lost tree named now shows as unreferenced (information)')
})

t.test('a corrupt tree: exit 2 without --read-data (trees are always read)', async t => {
  const s = savedFixture(t)
  const o = await savedObjects(s, s.ids[0] as string)
  flipPayloadByte(s.savedir, o.srcTree, 5)
  const r = runCheck(s.savedir)
  t.equal(r.status, 2, showRun(r))
  const errors = linesOf(r.out, 'error: ')
  t.equal(errors.length, 1)
  t.match(errors[0], `corrupt tree ${o.srcTree}`)
  t.match(errors[0], s.src)
  t.match(errors[0], s.ids[0] as string)
})

t.test('a deleted chunk: exit 2 naming the object, the file and the savesets', async t => {
  const s = savedFixture(t, 2)
  const o = await savedObjects(s, s.ids[0] as string)
  const victim = o.midChunks[0] as string
  fs.unlinkSync(objectFile(s.savedir, victim))
  const r = runCheck(s.savedir)
  t.equal(r.status, 2, showRun(r))
  const errors = linesOf(r.out, 'error: ')
  t.equal(errors.length, 1)
  t.match(errors[0], `missing chunk ${victim}`)
  t.match(errors[0], path.join(s.src, 'sub', 'mid.bin'))
  for (const id of s.ids) t.match(errors[0], id)
  t.match(r.out, /\n1 error found\n$/)
  const rd = runCheck(s.savedir, ['--read-data'])
  t.equal(rd.status, 2, showRun(rd))
  t.equal(linesOf(rd.out, 'error: ').length, 1, '--read-data does not report the missing chunk twice')
})

t.test('crash leftovers are information: exit 0', async t => {
  const s = savedFixture(t)
  const tmp = leaveTemporary(s.savedir)
  const lock = leaveDeadLock(s.savedir)
  const incomplete = leaveIncompleteSummary(s.savedir, s.ids[0] as string)
  fs.writeFileSync(path.join(s.savedir, 'savesets', `.${incomplete}.json.host.1.beef.tmp`), '{"id":')

  const r = runCheck(s.savedir)
  t.equal(r.status, 0, showRun(r))
  t.match(r.out, /\nno errors found\n$/)
  const info = linesOf(r.out, 'info: ')
  t.ok(info.some(l => l.includes(`chunks/ab/${path.basename(tmp)}`) && /temporary/.test(l)), 'the temporary object')
  t.ok(info.some(l => l.includes(`savesets/.${incomplete}.json.host.1.beef.tmp`)), 'the temporary summary')
  t.ok(info.some(l => l.includes(`locks/${lock}`) && /stale lock/.test(l) && /999999/.test(l)), 'the dead-pid lock')
  t.ok(info.some(l => l.includes(`incomplete saveset ${incomplete}`)), 'the incomplete summary')

  const j = checkJson(s.savedir)
  t.equal(j.status, 0)
  t.same(j.report.errors, [])
  t.equal(j.report.temporaries, 2)
  t.equal(j.report.staleLocks, 1)
  t.equal(j.report.incomplete, 1)
  t.equal(j.report.savesets, 2)

  // An object no saveset uses (an interrupted save's) is information too.
  const stray = path.join(s.savedir, 'chunks', 'ff', `fff${'0'.repeat(61)}.data`)
  fs.writeFileSync(stray, 'not really an object')
  const u = checkJson(s.savedir)
  t.equal(u.status, 0)
  t.equal(u.report.unreferenced, 1)
  t.ok(u.report.info.some(i => i.kind === 'unreferenced' && i.objects?.[0] === `fff${'0'.repeat(61)}`))
  t.same(fs.readdirSync(path.join(s.savedir, 'locks')), [lock], 'check removed nothing (unlock does that)')
  t.ok(fs.existsSync(tmp), 'nor the temporary (expire does that)')
})

t.test('an unparsable summary is an error: exit 2', async t => {
  const s = savedFixture(t)
  fs.writeFileSync(path.join(s.savedir, 'savesets', '20260101T000000Z_h_ck_deadbeef.json'), '{"id": "20260101T000000Z_h_ck_deadbeef", ')
  const r = runCheck(s.savedir)
  t.equal(r.status, 2, showRun(r))
  const errors = linesOf(r.out, 'error: ')
  t.equal(errors.length, 1)
  t.match(errors[0], 'savesets/20260101T000000Z_h_ck_deadbeef.json')
  t.match(errors[0], /does not parse/)
  const j = checkJson(s.savedir)
  t.match(j.report.errors, [{ kind: 'bad-summary', file: 'savesets/20260101T000000Z_h_ck_deadbeef.json' }])
  t.equal(j.report.savesets, 1, 'the good saveset is still checked')
})

t.test('a large directory is a tree index and parts: a damaged part names the directory', async t => {
  const dir = tmpDirFor(t, 'tarshift-check-')
  const src = path.join(dir, 'src')
  const files: Record<string, FixtureNode> = {}
  // 100 × 10 KB inline files: about 1 MB of tree, more than the 256 KiB maximum chunk.
  for (let i = 0; i < 100; i++) files[`f${String(i).padStart(3, '0')}`] = { type: 'file', size: 10_000, seed: 100 + i }
  files['zz.bin'] = { type: 'file', size: 300_000, seed: 99 }
  buildTree(src, { type: 'dir', children: { many: { type: 'dir', children: files } } })
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const id = saveOk(savedir, 'ck', [src]).id
  const root = summaryOf(savedir, id).root as string
  const parts = await withStore(savedir, async store => {
    const many = (await savedSubtree(store, root, path.join(src, 'many')))[0]?.entry.tree
    if (!many) throw new Error('many/ not saved')
    const o = await treeObjects(store, many)
    t.equal(o.kind, 2, 'many/ is stored as a tree index')
    return o.parts.map(p => p.toString('hex'))
  })
  t.ok(parts.length >= 2, `${parts.length} parts`)
  const clean = checkJson(savedir, ['--read-data'])
  t.equal(clean.status, 0, clean.stderr)
  t.ok(clean.report.trees >= parts.length + 2, 'the index and each part are read')
  t.equal(clean.report.chunksRead, clean.report.chunks)

  const last = parts[parts.length - 1] as string
  flipPayloadByte(savedir, last, 10)
  const r = runCheck(savedir)
  t.equal(r.status, 2, showRun(r))
  const errors = linesOf(r.out, 'error: ')
  t.equal(errors.length, 1)
  t.match(errors[0], `corrupt tree ${last}`)
  t.match(errors[0], path.join(src, 'many'), 'a part is named by the directory it belongs to')
  t.match(errors[0], id)
})
