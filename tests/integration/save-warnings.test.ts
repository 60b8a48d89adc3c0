// Problems with source files are warnings, never crashes (DESIGN.md §7, §8): a listed path
// that is not there, an unreadable file, directory and symlink, a file that keeps changing while it is
// read. Each gives one warning line naming the path on stderr and exit code 1; the saveset is
// still complete (finish set), counts its warnings, and `list --warnings ID` shows them later.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { buildTree, tmpDirFor } from '../helpers/fixture-tree.js'
import { newSavedir, saveJson, showRun, summaryOf, tarshift, type CliResult } from '../helpers/cli.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'

const NOBODY = 65534
const NS = 1_000_000_000n
const PAST = 1_600_000_000n * NS

/** The warning lines on stderr (tarshift: warning: PATH: what (CODE)). */
function warningLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter(l => l.startsWith('tarshift: warning: '))
}

/**
 * A save that ended with warnings about exactly `paths` (each matched by `why`): exit 1, one
 * warning line per path, the saveset complete with that many warnings, and `list --warnings`
 * naming each path. Returns the backup id.
 */
function expectWarnedSave(t: Test, savedir: string, r: CliResult, expected: Array<{ path: string; why: RegExp }>): string {
  t.equal(r.status, 1, `exit 1: completed with warnings (${showRun(r)})`)
  const lines = warningLines(r)
  t.equal(lines.length, expected.length, `${expected.length} warning line(s)`)
  for (const w of expected) {
    const line = lines.find(l => l.startsWith(`tarshift: warning: ${w.path}: `))
    t.ok(line, `a warning names ${w.path}`)
    t.match(line ?? '', w.why, `and says why: ${line}`)
  }
  t.match(r.stderr, new RegExp(`${expected.length} warnings?: .*tarshift list --warnings `), 'the last line says how many and how to see them')
  const j = saveJson(r)
  t.equal(j.warnings, expected.length, 'save --json counts them')
  const s = summaryOf(savedir, j.id)
  t.not(s.finish, null, 'list --json: the saveset is complete (finish set)')
  t.equal(s.warnings, expected.length, 'list --json: warnings counted')
  t.ok(s.warningsRef, 'list --json: the warnings are stored')
  const shown = tarshift(['list', '-r', savedir, '--warnings', j.id])
  t.equal(shown.status, 0, `list --warnings: ${showRun(shown)}`)
  const out = shown.stdout.toString()
  for (const w of expected) t.ok(out.includes(w.path), `list --warnings names ${w.path}`)
  const prefix = tarshift(['list', '-r', savedir, '--warnings', j.id.slice(0, 24)])
  t.same(prefix.stdout, shown.stdout, 'list --warnings takes a unique prefix of the id too')
  return j.id
}

t.test('a listed path that does not exist: a warning naming it', async t => {
  const base = tmpDirFor(t, 'tarshift-warn-')
  const src = path.join(base, 'src')
  buildTree(src, { type: 'dir', children: { 'here.txt': { type: 'file', content: 'here\n' } } })
  const gone = path.join(src, 'not-here.txt')
  const goneDir = path.join(base, 'no-such-dir', 'file')
  const list = Buffer.from([src, path.join(src, 'here.txt'), gone, goneDir].join('\n') + '\n')
  const savedir = newSavedir(t)
  const r = tarshift(['save', '-r', savedir, '--subset', 'w', '--progress', 'none', '--json', '--files-from', '-'], { input: list })
  const id = expectWarnedSave(t, savedir, r, [
    { path: gone, why: /not found|no such|vanished/i },
    { path: path.join(base, 'no-such-dir'), why: /not found|no such|vanished/i },
  ])
  await withStore(savedir, async store => {
    const items = await savedSubtree(store, summaryOf(savedir, id).root as string, src)
    t.same(items.map(i => i.rel.toString()), ['', 'here.txt'], 'what exists is saved')
  })
})

t.test('an unreadable file and an unreadable directory (saving as nobody): warnings naming them', async t => {
  const base = tmpDirFor(t, 'tarshift-warn-')
  fs.chmodSync(base, 0o755)
  const src = path.join(base, 'src')
  const own = { uid: NOBODY, gid: NOBODY }
  buildTree(src, {
    type: 'dir', ...own, children: {
      'readable.txt': { type: 'file', content: 'readable\n', ...own },
      'secret.txt': { type: 'file', content: 'secret\n', mode: 0, ...own },
      locked: { type: 'dir', mode: 0, ...own, children: { 'inside.txt': { type: 'file', content: 'inside\n', ...own } } },
      'others.txt': { type: 'file', content: 'root only\n', mode: 0o600 },
    },
  })
  const savedir = newSavedir(t)
  fs.chmodSync(path.dirname(savedir), 0o755)
  for (const p of [savedir, ...fs.readdirSync(savedir, { recursive: true }).map(n => path.join(savedir, String(n)))]) fs.lchownSync(p, NOBODY, NOBODY)

  const r = tarshift(['save', '-r', savedir, '--subset', 'w', '--progress', 'none', '--json', src], { uid: NOBODY, gid: NOBODY })
  const id = expectWarnedSave(t, savedir, r, [
    { path: path.join(src, 'secret.txt'), why: /EACCES/ },
    { path: path.join(src, 'locked'), why: /EACCES/ },
    { path: path.join(src, 'others.txt'), why: /EACCES/ },
  ])
  await withStore(savedir, async store => {
    const items = await savedSubtree(store, summaryOf(savedir, id).root as string, src)
    const names = items.map(i => i.rel.toString())
    t.same(names, ['', 'locked', 'readable.txt'], 'the readable file is saved; the unreadable directory as an empty one; unreadable files not at all')
    t.equal(items.find(i => i.rel.toString() === 'readable.txt')?.entry.data?.toString(), 'readable\n')
  })
  t.equal(fs.readdirSync(path.join(savedir, 'savesets')).length, 1, 'one saveset')
})

t.test('a file that keeps changing while read: a warning naming it', async t => {
  const base = tmpDirFor(t, 'tarshift-warn-')
  const src = path.join(base, 'src')
  buildTree(src, {
    type: 'dir', mtimeNs: PAST, children: {
      'calm.txt': { type: 'file', content: 'calm\n', mtimeNs: PAST },
      'growing.bin': { type: 'file', size: 48 * 1024 * 1024, seed: 5, mtimeNs: PAST },
    },
  })
  const growing = path.join(src, 'growing.bin')
  // A writer appending 16 KiB every millisecond until killed: both read attempts of the save
  // see the size and mtime move under them.
  const writer = spawn(process.execPath, ['-e', `
    const fs = require('node:fs')
    const fd = fs.openSync(process.argv[1], 'a')
    const block = Buffer.alloc(16384, 0x61)
    const nap = new Int32Array(new SharedArrayBuffer(4))
    process.stdout.write('started\\n')
    for (;;) { fs.writeSync(fd, block); Atomics.wait(nap, 0, 0, 1) }
  `, growing], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { writer.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    writer.stdout.once('data', () => resolve())
    writer.once('exit', code => reject(new Error(`writer exited early (${code})`)))
  })
  const size0 = fs.statSync(growing).size
  await new Promise(r => setTimeout(r, 50))
  t.ok(fs.statSync(growing).size > size0, 'the writer is appending')

  const savedir = newSavedir(t, ['--chunk-size', '1M'])
  const r = tarshift(['save', '-r', savedir, '--subset', 'w', '--progress', 'none', '--json', src])
  writer.kill('SIGKILL')
  const id = expectWarnedSave(t, savedir, r, [{ path: growing, why: /changed while/ }])
  await withStore(savedir, async store => {
    const items = await savedSubtree(store, summaryOf(savedir, id).root as string, src)
    const e = items.find(i => i.rel.toString() === 'growing.bin')?.entry
    t.ok(e, 'the changing file is saved as read')
    t.ok(e && e.size >= 48 * 1024 * 1024, 'with at least its size before the save')
    t.equal(e?.racy, true, 'marked racy: it is read again next time')
    t.equal(items.find(i => i.rel.toString() === 'calm.txt')?.entry.data?.toString(), 'calm\n', 'the other file is saved')
  })
})

t.test('a symlink whose target cannot be read (saving as nobody): a warning that says so, not "vanished"', async t => {
  if (process.getuid?.() !== 0) return t.fail('needs root: runs as nobody to be denied a symlink of /proc')
  // /proc/PID/cwd of a root process: lstat answers anyone, readlink only its owner (EACCES).
  const denied = `/proc/${process.pid}/cwd`
  const base = tmpDirFor(t, 'tarshift-warn-')
  fs.chmodSync(base, 0o755)
  const own = { uid: NOBODY, gid: NOBODY }
  const src = path.join(base, 'src')
  buildTree(src, { type: 'dir', ...own, children: { 'link': { type: 'symlink', target: 'readable target' } } })
  const savedir = newSavedir(t)
  fs.chmodSync(path.dirname(savedir), 0o755)
  for (const p of [savedir, ...fs.readdirSync(savedir, { recursive: true }).map(n => path.join(savedir, String(n)))]) fs.lchownSync(p, NOBODY, NOBODY)
  const list = Buffer.from([src, path.join(src, 'link'), denied].join('\n') + '\n')
  const r = tarshift(['save', '-r', savedir, '--subset', 'w', '--progress', 'none', '--json', '--files-from', '-'], { input: list, uid: NOBODY, gid: NOBODY })
  const id = expectWarnedSave(t, savedir, r, [{ path: denied, why: /cannot read symlink.*\(EACCES\)$/ }])
  t.notMatch(r.stderr, /vanished/, 'nothing is said to have vanished')
  await withStore(savedir, async store => {
    const items = await savedSubtree(store, summaryOf(savedir, id).root as string, src)
    t.equal(items.find(i => i.rel.toString() === 'link')?.entry.target?.toString(), 'readable target', 'the readable symlink is saved')
    const procDir = await savedSubtree(store, summaryOf(savedir, id).root as string, path.dirname(denied))
    t.same(procDir.map(i => i.rel.toString()), [''], 'the denied symlink is not saved; its directory is')
  })
})
