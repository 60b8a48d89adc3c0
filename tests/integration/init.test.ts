// tarshift init: refuses to overwrite anything (an existing savedir, a non-empty directory, a
// file), creates a private savedir (0700, objects and summaries 0600: DESIGN.md §8), and a
// savedir from a newer tarshift makes every command stop with exit 2 and "upgrade".
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, tmpDirFor } from '../helpers/fixture-tree.js'
import { dirState, initSavedirAt, objectNames, saveOk, showRun, stateDiff, stderrLines, tarshift } from '../helpers/cli.js'

function mode(p: string): number {
  return fs.statSync(p).mode & 0o7777
}

t.test('init refuses an existing savedir, a non-empty directory and a file', async t => {
  const base = tmpDirFor(t, 'tarshift-init-')
  const savedir = initSavedirAt(path.join(base, 'sd'))
  const other = path.join(base, 'other')
  fs.mkdirSync(other)
  fs.writeFileSync(path.join(other, 'keep.txt'), 'precious\n')
  const file = path.join(base, 'file')
  fs.writeFileSync(file, 'a file\n')
  const before = dirState(base)
  const cases: Array<[string, string, RegExp]> = [
    ['an existing savedir', savedir, /already a tarshift savedir/],
    ['a non-empty directory', other, /not empty/],
    ['a file', file, /not a directory/],
  ]
  for (const [what, dir, re] of cases) {
    const r = tarshift(['init', '-r', dir])
    t.equal(r.status, 2, `${what}: exit 2 (${showRun(r)})`)
    const lines = stderrLines(r)
    t.equal(lines.length, 1, `${what}: one line`)
    t.match(lines[0] ?? '', re, `${what}: ${lines[0]}`)
    t.ok(lines[0]?.includes(dir), `${what}: names it`)
  }
  t.same(stateDiff(before, dirState(base)), [], 'nothing changed')
  const bad = tarshift(['init', '-r', path.join(base, 'new'), '--chunk-size', '3M'])
  t.equal(bad.status, 2, 'a chunk size that is not a power of two: exit 2')
  t.match(bad.stderr, /power of two/)
  t.notOk(fs.existsSync(path.join(base, 'new')), 'and nothing created')
})

t.test('a savedir is 0700, its objects and summaries 0600', async t => {
  const base = tmpDirFor(t, 'tarshift-init-')
  fs.chmodSync(base, 0o755)
  const fresh = initSavedirAt(path.join(base, 'fresh'))
  t.equal(mode(fresh).toString(8), '700', 'a new savedir is 0700')
  // An empty directory made beforehand (say by mkdir with umask 022) is made private too.
  const premade = path.join(base, 'premade')
  fs.mkdirSync(premade, { mode: 0o755 })
  fs.chmodSync(premade, 0o755)
  initSavedirAt(premade)
  t.equal(mode(premade).toString(8), '700', 'an existing empty directory becomes 0700')
  // Even under a permissive umask (the child inherits ours).
  const loose = path.join(base, 'loose')
  const old = process.umask(0)
  let r
  try {
    r = tarshift(['init', '-r', loose])
  } finally {
    process.umask(old)
  }
  t.equal(r.status, 0, showRun(r))
  t.equal(mode(loose).toString(8), '700', 'savedir 0700')
  t.equal(mode(path.join(fresh, 'tarshift.json')).toString(8), '600', 'tarshift.json 0600')

  const src = path.join(base, 'src')
  buildTree(src, { type: 'dir', children: { 'a.txt': { type: 'file', content: 'a\n' }, 'big.bin': { type: 'file', size: 100_000, seed: 3 } } })
  saveOk(fresh, 'modes', [src])
  const objects = [...objectNames(fresh)]
  t.ok(objects.length >= 3, `${objects.length} objects`)
  const objModes = new Set(objects.map(h => mode(path.join(fresh, 'chunks', h.slice(0, 2), `${h}.data`)).toString(8)))
  t.same([...objModes], ['600'], 'every object file is 0600')
  const summaries = fs.readdirSync(path.join(fresh, 'savesets'))
  t.equal(summaries.length, 1)
  t.same(summaries.map(n => mode(path.join(fresh, 'savesets', n)).toString(8)), ['600'], 'the saveset summary is 0600')
})

t.test('a savedir of a newer format: every command exits 2 and says to upgrade', async t => {
  const base = tmpDirFor(t, 'tarshift-init-')
  const savedir = initSavedirAt(path.join(base, 'sd'))
  const src = path.join(base, 'src')
  buildTree(src, { type: 'dir', children: { 'a.txt': { type: 'file', content: 'a\n' } } })
  const id = saveOk(savedir, 'v', [src]).id
  const configPath = path.join(savedir, 'tarshift.json')
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { version: number }
  t.equal(config.version, 3, 'this tarshift writes format version 3')
  config.version = 99
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n')
  const before = dirState(savedir)

  const file = path.join(src, 'a.txt')
  const commands: string[][] = [
    ['save', '-r', savedir, '--subset', 'v', src],
    ['list', '-r', savedir],
    ['list', '-r', savedir, '--json'],
    ['ls', '-r', savedir, id],
    ['restore', '-r', savedir, id],
    ['cat', '-r', savedir, id, file],
    ['diff', '-r', savedir, id, id],
    ['info', '-r', savedir],
    ['check', '-r', savedir],
    ['expire', '-r', savedir, '--keep-last', '1', '--dry-run'],
    ['unlock', '-r', savedir],
  ]
  for (const args of commands) {
    const what = args.filter(a => a !== savedir && a !== '-r').join(' ').replace(base, '...')
    const r = tarshift(args)
    t.equal(r.status, 2, `${what}: exit 2 (${showRun(r)})`)
    const lines = stderrLines(r)
    t.equal(lines.length, 1, `${what}: one line`)
    t.match(lines[0] ?? '', /format version 99.*upgrade tarshift/, `${what}: says to upgrade`)
    t.equal(r.stdout.length, 0, `${what}: nothing on stdout`)
  }
  const init = tarshift(['init', '-r', savedir])
  t.equal(init.status, 2, 'init on it: exit 2')
  // Readers take their shared lock before they look at the config: the lock file comes and goes.
  const noLocks = (m: Map<string, string>): Map<string, string> => new Map([...m].filter(([k]) => k !== 'locks'))
  t.same(stateDiff(noLocks(before), noLocks(dirState(savedir))), [], 'nothing written to the savedir')
  t.same(fs.readdirSync(path.join(savedir, 'locks')), [], 'no lock left behind')
})

t.test('tree parts: new savedirs record their split rule; a broken one is refused', async t => {
  const base = tmpDirFor(t, 'tarshift-init-')
  const savedir = initSavedirAt(path.join(base, 'sd'))
  const configPath = path.join(savedir, 'tarshift.json')
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { treeParts?: { min: number; max: number; mask: number; entryWeight?: number } }
  t.same(config.treeParts, { min: 524288, max: 2097152, mask: 63, entryWeight: 1024 },
    'parts of 512 KiB to 2 MiB (the largest chunk), a split point every 64 names, each entry counting 1 KiB more')
  for (const broken of [{ min: 4096, max: 1000, mask: 15 }, { min: 4096, max: 8192, mask: 15, entryWeight: -1 }, { min: 4096, max: 8192, mask: 15, entryWeight: 8193 }]) {
    config.treeParts = broken
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n')
    const r = tarshift(['list', '-r', savedir])
    t.equal(r.status, 2, `${JSON.stringify(broken)}: exit 2 (${showRun(r)})`)
    t.match(stderrLines(r)[0] ?? '', /invalid treeParts/, 'says what is wrong')
  }
})
