import t from 'tap'
import { buildSelection, joinPath, joinPathText, pathComponents, splitList } from '../../lib/save/source-paths.js'
import { Excluder } from '../../lib/save/exclude.js'
import { chooseReferences } from '../../lib/save/references.js'
import type { SavesetSummary } from '../../lib/repo/saveset.js'

const s = (x: string): string => x
const cwd = Buffer.from('/home/ann')

t.test('lists split on newline or NUL, empty lines dropped, bytes kept', async t => {
  t.same(splitList(Buffer.from('a\n\nb\n'), false).map(String), ['a', 'b'])
  t.same(splitList(Buffer.from('a\nx\0b\0'), true).map(String), ['a\nx', 'b'])
  const odd = Buffer.from([0x66, 0xff, 0x00, 0x67])
  t.same(splitList(odd, true), [Buffer.from([0x66, 0xff]), Buffer.from([0x67])])
})

t.test('paths become absolute, normalized components', async t => {
  const show = (p: string): string => pathComponents(Buffer.from(p), cwd).map(String).join('|')
  t.equal(show('/etc//fstab'), 'etc|fstab')
  t.equal(show('docs/./a'), 'home|ann|docs|a')
  t.equal(show('../bob/x'), 'home|bob|x')
  t.equal(show('/'), '')
  t.equal(show('/a/b/'), 'a|b')
  t.equal(s(joinPath(Buffer.from('/'), Buffer.from('etc')).toString()), '/etc')
  t.equal(joinPath(Buffer.from('/etc'), Buffer.from('x')).toString(), '/etc/x')
})

t.test('selection trie: listed, recursive, ancestors', async t => {
  const root = buildSelection([Buffer.from('/a/b'), Buffer.from('/a/c/d')], true, '/')
  const a = root.children.get('a')
  t.ok(a && !a.listed && !a.recursive, 'ancestor only')
  t.ok(a?.children.get('b')?.recursive, 'PATH argument walked')
  t.ok(a?.children.get('c')?.children.get('d')?.listed)
  t.throws(() => buildSelection([], false, '/'), /nothing to save/)
})

t.test('exclude globs match a name or the full path', async t => {
  const x = new Excluder(['*.o', '/home/*/.cache', 'tmp?', '[ab]z'])
  const ex = (p: string): boolean => x.excludes(Buffer.from(p), Buffer.from(p.slice(p.lastIndexOf('/') + 1)))
  t.ok(ex('/src/main.o'))
  t.notOk(ex('/src/main.c'))
  t.ok(ex('/home/ann/.cache'))
  t.notOk(ex('/home/ann/x/.cache2'))
  t.ok(ex('/var/tmp1'))
  t.notOk(ex('/var/tmp12'))
  t.ok(ex('/q/az'))
  t.notOk(ex('/q/cz'))
  t.ok(new Excluder([]).empty)
})

t.test('exclude globs: fnmatch on bytes, as GNU tar (a * or ? crosses /, [!...], [] with ], escapes)', async t => {
  const on = (pats: string[], p: Buffer): boolean => new Excluder(pats).excludes(p, p.subarray(p.lastIndexOf(0x2f) + 1))
  const b = (s: string): Buffer => Buffer.from(s)
  t.ok(on(['/home/*/x'], b('/home/a/b/x')), '* crosses /')
  t.ok(on(['/tmp?x'], b('/tmp/x')), '? matches /')
  t.ok(on(['.*'], b('/h/.profile')), 'a leading . is not special')
  t.ok(on(['[!a]z'], b('/q/bz')))
  t.notOk(on(['[!a]z'], b('/q/az')))
  t.ok(on(['[]a]z'], b('/q/]z')), 'a ] first in brackets is one of the set')
  t.ok(on(['x[a-c]'], b('/q/xb')))
  t.notOk(on(['x[a-c]'], b('/q/xd')))
  t.ok(on(['\\*'], b('/q/*')), 'an escaped * is a *')
  t.notOk(on(['\\*'], b('/q/x')))
  t.ok(on(['cache/'], b('/h/cache')), 'a trailing / is taken off')
  // Names are bytes: ? is one byte, whatever the locale, and a pattern's text is its UTF-8.
  const odd = Buffer.concat([b('/q/n'), Buffer.from([0xe9, 0xff])])
  t.ok(on(['n??'], odd), '? matches one byte of a non-UTF-8 name')
  t.notOk(on(['n?'], odd))
  t.ok(on(['caf\u00e9'], b('/q/caf\u00e9')), 'UTF-8 text matches its bytes')
  t.ok(on(['caf?'], Buffer.concat([b('/q/caf'), Buffer.from([0xe9])])))
  t.notOk(on(['caf?'], b('/q/caf\u00e9')), 'an é in UTF-8 is two bytes')
  t.throws(() => new Excluder(['a\0b']), /NUL/)
})

function sum(id: string, start: string, files: number, finish: boolean, host = 'h', subset = 's'): SavesetSummary {
  return { id, host, subset, start, finish: finish ? start : null, checkpoint: null, root: 'aa', files, dirs: 0, bytesTotal: 0,
    bytesRead: 0, bytesNew: 0, warnings: 0, warningsRef: null, references: [], version: 1 }
}

t.test('references: most recent, most recent finished with > 1 file, most files; distinct; same host and subset', async t => {
  const all = [
    sum('big', '2026-01-01T00:00:00.000Z', 900, true),
    sum('ok', '2026-01-02T00:00:00.000Z', 500, true),
    sum('one', '2026-01-03T00:00:00.000Z', 1, true),
    sum('partial', '2026-01-04T00:00:00.000Z', 20, false),
    sum('other', '2026-01-05T00:00:00.000Z', 9999, true, 'h2'),
  ]
  t.same(chooseReferences(all, 'h', 's').map(r => r.id), ['partial', 'ok', 'big'])
  t.same(chooseReferences(all.slice(0, 2), 'h', 's').map(r => r.id), ['ok', 'big'])
  t.same(chooseReferences(all, 'h', 'other-subset'), [])
  // Savesets with as many files: the latest of them, often the most recent already (one reference).
  const same = [sum('first', '2026-03-01T00:00:00.000Z', 50, true), sum('second', '2026-03-02T00:00:00.000Z', 50, true)]
  t.same(chooseReferences(same, 'h', 's').map(r => r.id), ['second'], 'a tie on files: the latest')
  t.same(chooseReferences([...same, sum('cut', '2026-03-03T00:00:00.000Z', 10, false)], 'h', 's').map(r => r.id), ['cut', 'second'])
  const noRoot = { ...sum('x', '2026-02-01T00:00:00.000Z', 5, false), root: null }
  t.same(chooseReferences([noRoot], 'h', 's'), [], 'a saveset without any checkpoint is no reference')
})

t.test('joinPathText: as joinPath, for a name given as a latin1 string (any bytes)', async t => {
  const name = Buffer.from([0x66, 0xff, 0x00, 0xe9, 0x2e])
  const text = name.toString('latin1')
  for (const dir of ['/', '/a', '/a/b c', '/\xff']) {
    const parent = Buffer.from(dir, 'latin1')
    t.same(joinPathText(parent, text), joinPath(parent, name), dir)
  }
  t.same(joinPathText(Buffer.from('/'), 'x'), Buffer.from('/x'))
  t.same(joinPathText(Buffer.from('/usr'), 'share'), Buffer.from('/usr/share'))
})
