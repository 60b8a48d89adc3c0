// Paths longer than PATH_MAX (4,096 bytes), which no single system call takes: the save
// reaches them through directories opened on the way down (lib/fs/long-paths.ts). A tree 30
// directories of 200-byte names deep is saved without a warning, restored through GNU tar, which
// builds it again, compared by `tar --diff` against the source, and saved again reading nothing.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { newSavedir, saveJson, showRun, summaryOf, tarshift } from '../helpers/cli.js'
import { restoreToTar, tarNames } from '../helpers/restore-run.js'
import { seededBytes } from '../helpers/fixture-tree.js'
import { native } from '../../lib/fs/native.js'

const LEVELS = 30
const NAME = 200
/** The deep part restored on its own starts below this many levels. */
const SPLIT = 15

/** The name of level i: 200 bytes, one of them not UTF-8. */
function levelName(i: number): string {
  return `d${String(i).padStart(2, '0')}-`.padEnd(NAME, 'x')
}

/** A scratch directory that `rm -rf` removes (fs.rmSync cannot reach past PATH_MAX). */
function deepTmp(t: Test, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => execFileSync('rm', ['-rf', dir]))
  return dir
}

/** Run fn with the working directory at `rel` under `base` (entered one name at a time). */
function inside<T>(base: string, rel: string[], fn: () => T): T {
  const back = process.cwd()
  process.chdir(base)
  try {
    for (const n of rel) process.chdir(n)
    return fn()
  } finally {
    process.chdir(back)
  }
}

const BIG = seededBytes(300 * 1024, 7)

/** src/ with a chain of LEVELS directories; files at the top, at 1/3 depth and at the bottom. */
function buildDeep(base: string): { src: string; chain: string[]; deepLength: number } {
  const src = path.join(base, 'src')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'top.txt'), 'top\n')
  const chain: string[] = []
  for (let i = 0; i < LEVELS; i++) {
    const name = levelName(i)
    inside(src, chain, () => fs.mkdirSync(name))
    chain.push(name)
    if (i === 10) inside(src, chain, () => fs.writeFileSync('middle.txt', 'middle\n'))
  }
  inside(src, chain, () => {
    fs.writeFileSync('small.txt', 'deep and small\n')
    fs.writeFileSync('big.bin', BIG)
    fs.symlinkSync('small.txt', 'link')
    fs.linkSync('small.txt', 'hard')
    execFileSync('mkfifo', ['fifo'])
    native.lsetxattr(Buffer.from('small.txt'), Buffer.from('user.deep'), Buffer.from([0, 1, 2, 0xff]))
    fs.writeFileSync(Buffer.from([0x6e, 0xff, 0x2e, 0x74]), 'not utf-8\n')
    fs.chmodSync('small.txt', 0o640)
  })
  return { src, chain, deepLength: src.length + LEVELS * (NAME + 1) + '/small.txt'.length }
}

t.test('a tree deeper than PATH_MAX: saved whole, restored by tar, no difference', async t => {
  const base = deepTmp(t, 'tarshift-long-')
  const { src, chain, deepLength } = buildDeep(base)
  t.ok(deepLength > 4096 + 1024, `the deepest path is ${deepLength} bytes`)
  t.throws(() => fs.statSync(path.join(src, ...chain, 'small.txt')), { code: 'ENAMETOOLONG' }, 'too long for one system call')
  // Past the racy window (lib/save/racy.ts), so that an unchanged save may reuse every file.
  await new Promise(resolve => setTimeout(resolve, 2100))

  const savedir = newSavedir(t)
  const r = tarshift(['save', '-r', savedir, '--subset', 'deep', '--progress', 'none', '--json', src])
  t.equal(r.status, 0, `saved with no warning (${showRun(r)})`)
  t.equal(r.stderr, '', 'nothing on stderr')
  const j = saveJson(r)
  // src, 30 levels; files: top, middle, small, big, link, hard, fifo, the non-UTF-8 name.
  t.equal(summaryOf(savedir, j.id).files, 8, 'every file counted')

  const listed = tarshift(['ls', '-r', savedir, j.id, path.join(src, ...chain)])
  t.equal(listed.status, 0, `ls of the deepest directory: ${showRun(listed)}`)
  for (const n of ['small.txt', 'big.bin', 'link', 'hard', 'fifo']) t.match(listed.stdout.toString(), n, `ls shows ${n}`)

  const cat = tarshift(['cat', '-r', savedir, j.id, path.join(src, ...chain, 'big.bin')])
  t.equal(cat.status, 0, `cat of the deep chunked file: ${showRun(cat)}`)
  t.ok(Buffer.compare(cat.stdout, BIG) === 0, 'cat gives its bytes')

  // The stream holds every member under its whole name (GNU tar lists them)...
  const stream = tarshift(['restore', '-r', savedir, j.id])
  t.equal(stream.status, 0, `restore of the whole saveset (${showRun(stream)})`)
  const names = tarNames(stream.stdout)
  t.equal(names.status, 0, `tar -t reads it (${names.stderr})`)
  const deepest = path.join(src, ...chain).slice(1)
  for (const n of ['small.txt', 'big.bin', 'link', 'hard', 'fifo']) t.ok(names.names.includes(`${deepest}/${n}`), `a member ${deepest.length + n.length + 1} bytes long: .../${n}`)
  // ...but GNU tar cannot create or compare paths over PATH_MAX either: the deep part is
  // restored with --strip-components, and compared from inside the source (tar run there).
  const upper = chain.slice(0, SPLIT)
  const at = path.join(src, ...upper)
  const strip = String(at.split('/').filter(s => s !== '').length)
  const diff = await inside(src, upper, () => restoreToTar(['-r', savedir, j.id, at, '--strip-components', strip], ['--diff', '--xattrs', '--xattrs-include=*', '-f', '-']))
  t.equal(`${diff.restore.status}/${diff.tar.status}`, '0/0', `restore ... --strip-components ${strip} | tar --diff, in the source: no difference (${diff.restore.stderr}${diff.tar.stdout.slice(0, 300)}${diff.tar.stderr.slice(0, 300)})`)

  const out = deepTmp(t, 'tarshift-long-out-')
  const x = await restoreToTar(['-r', savedir, j.id, at, '--strip-components', strip], ['-xpf', '-', '--xattrs', '--xattrs-include=*'], out)
  t.equal(`${x.restore.status}/${x.tar.status}`, '0/0', `restore ... | tar -x (${x.restore.stderr}${x.tar.stderr.slice(0, 300)})`)
  inside(out, chain.slice(SPLIT), () => {
    t.same(fs.readFileSync('small.txt', 'latin1'), 'deep and small\n', 'the deep small file, restored')
    t.ok(Buffer.compare(fs.readFileSync('big.bin'), BIG) === 0, 'the deep chunked file, restored')
    t.equal(fs.readlinkSync('link'), 'small.txt', 'the symlink')
    t.equal(fs.statSync('hard').ino, fs.statSync('small.txt').ino, 'the hardlink')
    t.equal(fs.statSync('small.txt').mode & 0o777, 0o640, 'the mode')
    t.ok(fs.lstatSync('fifo').isFIFO(), 'the fifo')
    t.same(native.lgetxattrs(Buffer.from('small.txt')).map(([n, v]) => [n.toString(), [...v]]), [['user.deep', [0, 1, 2, 0xff]]], 'the xattr, byte-exact')
    t.equal(fs.readFileSync(Buffer.from([0x6e, 0xff, 0x2e, 0x74]), 'latin1'), 'not utf-8\n', 'the non-UTF-8 name')
  })

  /** No difference below src between two savesets (above it, /tmp changes as tests run). */
  const sameBelow = (a: string, b: string, what: string): void => {
    const d = tarshift(['diff', '-r', savedir, a, b, src])
    t.equal(d.status, 0, `diff ${what}: ${showRun(d)}`)
    t.equal(d.stdout.toString(), '', `${what}: the same as the walk below src`)
  }

  // The list of `find -print0`, which walks such trees: the same saveset.
  const found = execFileSync('find', [src, '-print0'])
  const listed0 = tarshift(['save', '-r', savedir, '--subset', 'found', '--progress', 'none', '--json', '--null', '--files-from', '-'], { input: found })
  t.equal(listed0.status, 0, `find -print0 | save --null --files-from - (${showRun(listed0)})`)
  sameBelow(j.id, saveJson(listed0).id, 'the list of find -print0')

  // Unchanged: the second save reads no file.
  const again = tarshift(['save', '-r', savedir, '--subset', 'deep', '--progress', 'none', '--json', src])
  t.equal(again.status, 0, `second save (${showRun(again)})`)
  const j2 = saveJson(again)
  t.equal(j2.bytesRead, 0, 'the second save read nothing')
  sameBelow(j.id, j2.id, 'the second save')

  // A deep file changed: found and saved.
  inside(src, chain, () => fs.writeFileSync('small.txt', 'deep and small, changed\n'))
  const third = tarshift(['save', '-r', savedir, '--subset', 'deep', '--progress', 'none', '--json', src])
  t.equal(third.status, 0, `third save (${showRun(third)})`)
  const changed = tarshift(['cat', '-r', savedir, saveJson(third).id, path.join(src, ...chain, 'hard')])
  t.equal(changed.stdout.toString(), 'deep and small, changed\n', 'the change is saved (through its hardlink)')
})

t.test('a deep directory that cannot be opened: one warning, the rest saved', async t => {
  if (process.getuid?.() !== 0) return t.fail('needs root: runs as nobody to deny a directory on the way')
  const base = deepTmp(t, 'tarshift-long-')
  fs.chmodSync(base, 0o755)
  const { src, chain } = buildDeep(base)
  execFileSync('chown', ['-R', 'nobody', src])
  const locked = path.join(src, ...chain.slice(0, 25))
  inside(src, chain.slice(0, 24), () => fs.chmodSync(chain[24] as string, 0))
  const savedir = newSavedir(t)
  fs.chmodSync(path.dirname(savedir), 0o755)
  execFileSync('chown', ['-R', 'nobody:nogroup', savedir])
  const r = tarshift(['save', '-r', savedir, '--subset', 'deep', '--progress', 'none', '--json', src], { uid: 65534, gid: 65534 })
  t.equal(r.status, 1, `exit 1: a warning (${showRun(r)})`)
  const lines = r.stderr.split('\n').filter(l => l.startsWith('tarshift: warning: '))
  t.equal(lines.length, 1, `one warning: ${lines.join(' | ')}`)
  t.ok(lines[0]?.startsWith(`tarshift: warning: ${locked}: `), 'naming the directory')
  const j = saveJson(r)
  t.equal(summaryOf(savedir, j.id).files, 2, 'top and middle saved')
})
