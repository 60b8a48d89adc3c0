// What restore refuses (DESIGN.md §3, §7), each with exit 2, one clear line on stderr and
// nothing on stdout: a terminal as stdout, an unknown backup, an ambiguous prefix (candidates
// listed), a PATH not in the saveset (all PATHs are resolved before the first byte goes out),
// a bad --format.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { buildTree, tmpDirFor } from '../helpers/fixture-tree.js'
import { newSavedir, saveOk, showRun, tarshift } from '../helpers/cli.js'
import { TAR_ENV, TARSHIFT_SH, shQuote, tarNames } from '../helpers/restore-run.js'

const dir = tmpDirFor(t, 'tarshift-refusal-')
const src = path.join(dir, 'src')
buildTree(src, { type: 'dir', children: { 'a.txt': { type: 'file', content: 'a\n' }, sub: { type: 'dir', children: { 'b.txt': { type: 'file', content: 'b\n' } } } } })
const savedir = newSavedir(t)
const first = saveOk(savedir, 'refusal', [src]).id
const second = saveOk(savedir, 'refusal', [src]).id

function restore(args: string[]) {
  return tarshift(['restore', '-r', savedir, ...args])
}

function refused(t: Test, r: ReturnType<typeof restore>, message: string | RegExp): void {
  t.equal(r.status, 2, `exit 2 (${showRun(r)})`)
  t.equal(r.stdout.length, 0, 'nothing on stdout')
  t.match(r.stderr, message)
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr')
}

const haveScript = spawnSync('sh', ['-c', 'command -v script']).status === 0

t.test('stdout on a terminal: refused', { skip: haveScript ? false : 'script(1) from util-linux is not installed: no pty to test with' }, async t => {
  // script(1) runs the command with a pty as stdin, stdout and stderr, and returns its status.
  const cmd = `${TARSHIFT_SH} restore -r ${shQuote(savedir)} latest`
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: TAR_ENV, encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 2, `exit 2; output: ${r.stdout}`)
  t.equal(r.stdout.replace(/\r/g, '').trim(), 'tarshift: refusing to write a tar stream to a terminal; pipe it into tar or redirect it', 'the message and nothing else reaches the terminal')
})

t.test('the same restore into a pipe works', async t => {
  const r = restore(['latest'])
  t.equal(r.status, 0, showRun(r))
  t.same(tarNames(r.stdout).names.filter(n => n.startsWith(src.slice(1))), ['src/', 'src/a.txt', 'src/sub/', 'src/sub/b.txt'].map(n => `${path.dirname(src).slice(1)}/${n}`))
})

t.test('an unknown backup', async t => {
  refused(t, restore(['no-such-backup']), 'tarshift: unknown backup "no-such-backup"; see tarshift list')
  refused(t, restore(['latest', '--subset', 'other']), /no completed saveset for subset other/)
})

t.test('an ambiguous prefix lists the candidates; a unique one works', async t => {
  let n = 0
  while (n < first.length && first[n] === second[n]) n++
  t.ok(n > 0 && n < first.length, `the ids share a prefix: ${first} ${second}`)
  const prefix = first.slice(0, n)
  const r = restore([prefix])
  refused(t, r, `backup "${prefix}" is ambiguous: 2 match`)
  t.match(r.stderr, first)
  t.match(r.stderr, second)

  const unique = restore([first.slice(0, n + 1)])
  t.equal(unique.status, 0, showRun(unique))
  t.equal(tarNames(unique.stdout).status, 0)
  t.equal(restore([first]).status, 0, 'a full id')
})

t.test('a PATH not in the saveset: nothing is written', async t => {
  refused(t, restore(['latest', path.join(src, 'missing')]), `tarshift: no such path in the saveset: ${path.join(src, 'missing')}`)
  refused(t, restore(['latest', path.join(src, 'a.txt', 'below-a-file')]), /no such path in the saveset/)
  // Every PATH is resolved before the first byte: a good one first changes nothing.
  refused(t, restore(['latest', path.join(src, 'sub'), path.join(src, 'nope')]), `no such path in the saveset: ${path.join(src, 'nope')}`)
})

t.test('a bad --format or --strip-components', async t => {
  refused(t, restore(['latest', '--format', 'zip']), /--format takes pax, gnu or ustar, not "zip"/)
  refused(t, restore(['latest', '--strip-components', 'x']), '--strip-components takes a whole number, not "x"')
})
