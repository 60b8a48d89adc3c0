// Bad input to save is a fatal error before anything happens: exit 2, one clear line on stderr,
// nothing written to the savedir. --dry-run reads and counts everything and writes nothing.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, seededBytes, tmpDirFor } from '../helpers/fixture-tree.js'
import { dirState, listSavesets, stableTmpDir, newSavedir, objectNames, saveJson, saveOk, showRun, stateDiff, stderrLines, tarshift } from '../helpers/cli.js'

const NS = 1_000_000_000n
const PAST = 1_600_000_000n * NS

function smallTree(t: Parameters<typeof tmpDirFor>[0]): string {
  // Under a private top-level dir: a save records the ancestors, and /tmp's mtime moves with
  // every concurrent test (the dry run after the real save must find nothing new).
  const src = path.join(stableTmpDir(t, 'tarshift-usage'), 'src')
  const big = seededBytes(3 * 1024 * 1024, 9)
  buildTree(src, {
    type: 'dir', mtimeNs: PAST, children: {
      'a.txt': { type: 'file', content: 'a\n', mtimeNs: PAST },
      // Duplicate content inside one save: a dry run must count it once, as a real save stores it.
      'big-1.bin': { type: 'file', content: big, mtimeNs: PAST },
      'big-2.bin': { type: 'file', content: big, mtimeNs: PAST },
      e1: { type: 'dir', mtimeNs: PAST, children: {} },
      e2: { type: 'dir', mtimeNs: PAST, children: {} },
    },
  })
  return src
}

t.test('bad arguments: exit 2, one line on stderr, nothing written', async t => {
  const src = smallTree(t)
  const savedir = newSavedir(t)
  const before = dirState(savedir)
  const cases: Array<[string, string[], RegExp]> = [
    ['no --subset', ['save', '-r', savedir, src], /--subset/],
    ['a subset with a slash', ['save', '-r', savedir, '--subset', 'a/b', src], /subset "a\/b"/],
    ['an empty subset', ['save', '-r', savedir, '--subset', '', src], /subset/],
    ['a 65-character subset', ['save', '-r', savedir, '--subset', 'x'.repeat(65), src], /subset/],
    ['a bad --hostname', ['save', '-r', savedir, '--subset', 'ok', '--hostname', 'my host', src], /host "my host"/],
    ['a bad --host', ['save', '-r', savedir, '--subset', 'ok', '--host', 'a/b', src], /host "a\/b"/],
    ['an unreadable --files-from', ['save', '-r', savedir, '--subset', 'ok', '--files-from', path.join(src, 'no-such-list')], /files-from .*no-such-list.*ENOENT/],
    ['--files-from and PATHs', ['save', '-r', savedir, '--subset', 'ok', '--files-from', '-', src], /not both/],
    ['nothing to save', ['save', '-r', savedir, '--subset', 'ok'], /nothing to save/],
    ['an unknown option', ['save', '-r', savedir, '--subset', 'ok', '--frobnicate', src], /frobnicate/],
    ['a bad --progress', ['save', '-r', savedir, '--subset', 'ok', '--progress', 'loud', src], /--progress/],
    ['a bad --compression', ['save', '-r', savedir, '--subset', 'ok', '--compression', 'rar', src], /rar/],
    ['no savedir', ['save', '--subset', 'ok', src], /savedir/],
  ]
  for (const [what, args, re] of cases) {
    const r = tarshift(args)
    t.equal(r.status, 2, `${what}: exit 2 (${showRun(r)})`)
    const lines = stderrLines(r)
    t.equal(lines.length, 1, `${what}: one line on stderr`)
    t.match(lines[0] ?? '', /^tarshift: /, `${what}: it starts with "tarshift: "`)
    t.match(lines[0] ?? '', re, `${what}: it says what is wrong: ${lines[0]}`)
    t.notMatch(r.stderr, /internal error|\n\s+at /, `${what}: no stack trace`)
    t.equal(r.stdout.length, 0, `${what}: nothing on stdout`)
  }
  t.same(stateDiff(before, dirState(savedir)), [], 'nothing written to the savedir')
  t.same(listSavesets(savedir), [], 'no saveset')
})

t.test('a savedir that is missing or is not a savedir: exit 2 "not a tarshift savedir", nothing created', async t => {
  const src = smallTree(t)
  const base = tmpDirFor(t, 'tarshift-usage-')
  const missing = path.join(base, 'missing')
  const empty = path.join(base, 'empty')
  fs.mkdirSync(empty)
  const other = path.join(base, 'other')
  fs.mkdirSync(other)
  fs.writeFileSync(path.join(other, 'notes.txt'), 'not a savedir\n')
  const file = path.join(base, 'file')
  fs.writeFileSync(file, 'a file\n')
  const before = dirState(base)
  for (const [what, dir] of [['missing', missing], ['empty', empty], ['other', other], ['a file', file]] as const) {
    const r = tarshift(['save', '-r', dir, '--subset', 'ok', src])
    t.equal(r.status, 2, `${what}: exit 2 (${showRun(r)})`)
    const lines = stderrLines(r)
    t.equal(lines.length, 1, `${what}: one line`)
    t.match(lines[0] ?? '', /^tarshift: not a tarshift savedir: /, `${what}: ${lines[0]}`)
    t.ok(lines[0]?.includes(dir), `${what}: names the savedir`)
    t.match(lines[0] ?? '', /tarshift init/, `${what}: says what to do`)
  }
  t.same(stateDiff(before, dirState(base)), [], 'nothing created or changed')
  const env = tarshift(['save', '--subset', 'ok', src], { env: { TARSHIFT_SAVEDIR: missing } })
  t.equal(env.status, 2, 'TARSHIFT_SAVEDIR names a missing savedir: exit 2')
  t.match(env.stderr, /not a tarshift savedir/)
})

t.test('--dry-run reads and counts everything and writes nothing', async t => {
  const src = smallTree(t)
  const savedir = newSavedir(t, ['--chunk-size', '256K'])
  const before = dirState(savedir)
  const dry = tarshift(['save', '-r', savedir, '--subset', 'dry', '--dry-run', '--json', '--progress', 'none', src])
  t.equal(dry.status, 0, showRun(dry))
  const d = saveJson(dry)
  t.equal(d.dryRun, true, 'the summary says it was a dry run')
  t.equal(d.files, 3, 'files counted')
  t.equal(d.bytesTotal, 2 + 2 * 3 * 1024 * 1024, 'bytes counted')
  t.ok(d.objectsNew > 10, `objects that would be new: ${d.objectsNew}`)
  t.ok(d.bytesNew >= 3 * 1024 * 1024 && d.bytesNew < 3.2 * 1024 * 1024, `bytes that would be new: ${d.bytesNew} (one copy of the duplicate)`)
  const after = dirState(savedir)
  // A save holds a shared lock while it runs (DESIGN.md §5): the lock file comes and goes.
  const noLocks = (m: Map<string, string>): Map<string, string> => new Map([...m].filter(([k]) => k !== 'locks'))
  t.same(stateDiff(noLocks(before), noLocks(after)), [], 'nothing written to the savedir')
  t.same(fs.readdirSync(path.join(savedir, 'locks')), [], 'no lock left behind')
  t.equal(objectNames(savedir).size, 0, 'no object')
  t.same(listSavesets(savedir), [], 'no saveset')

  const real = saveOk(savedir, 'dry', [src])
  t.equal(real.objectsNew, d.objectsNew, 'the real save stores as many objects as the dry run said')
  t.equal(real.bytesNew, d.bytesNew, 'and as many bytes')
  t.equal(objectNames(savedir).size, real.objectsNew)

  const state = dirState(savedir)
  const again = saveOk(savedir, 'dry', ['--dry-run', src])
  t.equal(again.objectsNew, 0, 'a dry run after the real save: nothing would be new')
  t.same(stateDiff(noLocks(state), noLocks(dirState(savedir))), [], 'and nothing was written')
  t.equal(listSavesets(savedir).length, 1, 'still one saveset')
})
