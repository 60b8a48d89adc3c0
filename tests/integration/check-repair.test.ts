// check --repair through the real CLI: a corrupt chunk (found by --read-data) or a corrupt tree
// goes to quarantine/ (0700), the generation is bumped (so the local cache, which remembers the
// object as present, is dropped), the damaged savesets are named and stay listed; the next save
// of the same source stores the object again, after which the whole savedir checks clean and the
// OLD saveset restores byte for byte (objects are named by their content).
//
// Exit code of check --repair: 2 when it found errors, as restic's check does. Quarantining does
// not make the damaged savesets whole: they still reference the moved objects until a save
// stores them again, so a plain check right after would report them missing; exit 0 would tell
// a cron job that all is well when a restore of those savesets would fail.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { listSavesets, saveOk, showRun, tarshift } from '../helpers/cli.js'
import { tarOn } from '../helpers/restore-run.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { sha256File } from '../helpers/tree-snapshot.js'
import { checkJson, flipPayloadByte, linesOf, objectFile, runCheck, savedFixture, savedObjects } from '../check/savedir-faults.js'

/** Restores saveset `id` with tar into a fresh dir (throws on failure); returns where the source lands. */
function restoreInto(t: Parameters<typeof tmpDirFor>[0], savedir: string, id: string, src: string): string {
  const r = tarshift(['restore', '-r', savedir, id])
  if (r.status !== 0) throw new Error(`restore ${id}: ${showRun(r)}`)
  const out = tmpDirFor(t, 'tarshift-check-out-')
  const x = tarOn(r.stdout, ['-xf', '-', '-C', out])
  if (x.status !== 0) throw new Error(`tar -x: exit ${x.status}: ${x.stderr}`)
  return path.join(out, src.slice(1))
}

t.test('--repair --read-data quarantines a corrupt chunk; the next save stores it again', async t => {
  const s = savedFixture(t)
  const old = s.ids[0] as string
  const o = await savedObjects(s, old)
  const victim = o.bigChunks[2] as string
  flipPayloadByte(s.savedir, victim, 2000)
  const generation = (): string | null => (fs.existsSync(path.join(s.savedir, 'generation')) ? fs.readFileSync(path.join(s.savedir, 'generation'), 'utf8').trim() : null)
  const genBefore = generation()

  const plainRepair = checkJson(s.savedir, ['--repair'])
  t.equal(plainRepair.status, 0, 'without --read-data, --repair finds nothing to move (chunks are not read)')
  t.same(plainRepair.report.repair, { quarantined: [], generation: null })
  t.ok(fs.existsSync(objectFile(s.savedir, victim)))

  const r = runCheck(s.savedir, ['--repair', '--read-data'])
  t.equal(r.status, 2, `errors were found: exit 2 (${showRun(r)})`)
  t.match(linesOf(r.out, 'error: ')[0], `corrupt chunk ${victim}`)
  const moved = path.join(s.savedir, 'quarantine', `${victim}.data`)
  t.ok(linesOf(r.out, 'repair: ').some(l => l.includes(`chunk ${victim}`) && l.includes(`quarantine/${victim}.data`)), 'says what it moved where')
  const damaged = linesOf(r.out, 'damaged: ')
  t.equal(damaged.length, 1)
  t.match(damaged[0], old, 'names the saveset that lost data')
  t.match(damaged[0], path.join(s.src, 'big.bin'), 'and what it lost')
  t.notOk(fs.existsSync(objectFile(s.savedir, victim)), 'the corrupt object left chunks/')
  t.ok(fs.existsSync(moved), 'and is in quarantine/')
  t.equal(fs.statSync(path.join(s.savedir, 'quarantine')).mode & 0o777, 0o700, 'quarantine/ is 0700')
  t.not(generation(), genBefore, 'the generation was bumped')
  t.same(listSavesets(s.savedir).map(x => x.id), [old], 'the damaged saveset stays listed')

  const after = checkJson(s.savedir)
  t.equal(after.status, 2, 'until a save stores it again, the chunk is missing')
  t.match(after.report.errors, [{ kind: 'missing-chunk', object: victim }])

  // Same source, same subset: big.bin is unchanged (reused from the reference), but its
  // chunk is gone, so the save reads it again and stores the chunk anew.
  const again = saveOk(s.savedir, 'ck', [s.src])
  t.ok(fs.existsSync(objectFile(s.savedir, victim)), 'the save stored the chunk again')
  t.ok(again.objectsNew >= 1, `${again.objectsNew} new objects`)

  const clean = runCheck(s.savedir, ['--read-data'])
  t.equal(clean.status, 0, `the whole savedir is clean again: ${showRun(clean)}`)
  t.match(clean.out, /no errors found/)
  t.ok(linesOf(clean.out, 'info: ').some(l => l.includes('quarantine/ holds 1 object')), 'the quarantined object is mentioned as information')

  const restored = restoreInto(t, s.savedir, old, s.src)
  t.equal(sha256File(path.join(restored, 'big.bin')), sha256File(path.join(s.src, 'big.bin')), 'the OLD saveset restores big.bin byte for byte')
})

t.test('--repair quarantines a corrupt tree; the next save of the unchanged directory stores it again', async t => {
  const s = savedFixture(t, 2)
  const o = await savedObjects(s, s.ids[0] as string)
  flipPayloadByte(s.savedir, o.subTree, 3)

  const j = checkJson(s.savedir, ['--repair'])
  t.equal(j.status, 2, j.stderr)
  t.match(j.report.errors, [{ kind: 'corrupt-tree', object: o.subTree, savesets: s.ids }])
  t.same(j.report.repair?.quarantined, [{ object: o.subTree, what: 'tree', to: `quarantine/${o.subTree}.data` }])
  t.same(j.report.damaged.map(d => d.saveset), s.ids, 'both savesets lost sub/')
  for (const d of j.report.damaged) t.same(d.lost, [{ object: o.subTree, what: 'tree', state: 'quarantined', path: path.join(s.src, 'sub') }])
  t.notOk(fs.existsSync(objectFile(s.savedir, o.subTree)))

  saveOk(s.savedir, 'ck', [s.src])
  t.ok(fs.existsSync(objectFile(s.savedir, o.subTree)), 'the save wrote the same tree again')
  const clean = runCheck(s.savedir, ['--read-data'])
  t.equal(clean.status, 0, showRun(clean))
  const restored = restoreInto(t, s.savedir, s.ids[0] as string, s.src)
  t.equal(sha256File(path.join(restored, 'sub', 'mid.bin')), sha256File(path.join(s.src, 'sub', 'mid.bin')), 'the old saveset restores sub/ again')
  t.equal(fs.readFileSync(path.join(restored, 'sub', 'note.txt'), 'utf8'), 'inline note\n')
})

t.test('--repair takes the exclusive lock: a live shared lock blocks it (exit 11)', async t => {
  const s = savedFixture(t)
  const lockFile = path.join(s.savedir, 'locks', `otherhost.1.abcd.shared.lock`)
  fs.writeFileSync(lockFile, JSON.stringify({ host: 'otherhost', pid: 1, operation: 'save', kind: 'shared', start: new Date().toISOString() }) + '\n')
  const r = runCheck(s.savedir, ['--repair'])
  t.equal(r.status, 11, showRun(r))
  const shared = runCheck(s.savedir)
  t.equal(shared.status, 0, `a plain check shares: ${showRun(shared)}`)
  t.ok(linesOf(shared.out, 'info: ').some(l => l.includes('lock held') && l.includes('otherhost')), 'and mentions the running save')
})
