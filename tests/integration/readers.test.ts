// ls -l against tar -tvf of our own stream (field by field), cat of a multi-chunk file,
// diff between two saves (exactly the changed paths), and info's totals.
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { buildTree, seededBytes } from '../helpers/fixture-tree.js'
import { newSavedir, saveOk, stableTmpDir, tarshift, tarshiftOk, showRun } from '../helpers/cli.js'
import { TAR_ENV } from '../helpers/restore-run.js'

const HOUR_AGO = new Date(Date.now() - 3600_000)

function setup(t: Parameters<typeof newSavedir>[0]): { savedir: string; src: string; rel: string } {
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const top = stableTmpDir(t, 'tarshift-readers')
  const src = join(top, 'src')
  buildTree(src, {
    type: 'dir',
    children: {
      'big.bin': { type: 'file', size: 1024 * 1024 + 77, seed: 7 },
      'small.txt': { type: 'file', content: 'small file\n' },
      'mode.sh': { type: 'file', content: '#!/bin/sh\n', mode: 0o4755 },
      gone: { type: 'file', content: 'will be removed\n' },
      sub: { type: 'dir', children: { 'inner.txt': { type: 'file', content: 'inner\n' }, link: { type: 'symlink', target: '../small.txt' } } },
      hl: { type: 'hardlink', to: 'small.txt' },
      fifo: { type: 'fifo' },
      null: { type: 'chardev', major: 1, minor: 3 },
      odd: { type: 'dir', children: [[Buffer.from([0x66, 0xff, 0x0a]), { type: 'file', content: 'odd name\n' }]] },
    },
  })
  return { savedir, src, rel: src.slice(1) }
}

interface TarLine { mode: string; owner: string; size: string; date: string; name: string; rest: string }

/** Split a `tar -tv` line (or ours) into fields; tar widens columns, so split on runs of spaces. */
function fields(line: string): TarLine {
  const m = /^(\S{10}) (\S+) +(\S+) (\d{4}-\d\d-\d\d \d\d:\d\d) (.*)$/.exec(line)
  if (!m) throw new Error(`unparsable listing line: ${JSON.stringify(line)}`)
  const tail = m[5] as string
  const arrow = tail.match(/^(.*?)( -> .*| link to .*)$/)
  return { mode: m[1] as string, owner: m[2] as string, size: m[3] as string, date: m[4] as string, name: arrow ? arrow[1] as string : tail, rest: arrow ? arrow[2] as string : '' }
}

t.test('ls -l carries the same fields as tar -tvf of our own stream', async t => {
  const { savedir, src } = setup(t)
  saveOk(savedir, 'r', [src])
  const env = { ...TAR_ENV, TZ: 'UTC' }
  const ours = tarshiftOk(['ls', '-r', savedir, 'latest', src, '-l', '-R'], { env }).stdout.toString().split('\n').filter(Boolean)
  const stream = tarshiftOk(['restore', '-r', savedir, 'latest', src], { env }).stdout
  const theirs = execFileSync('tar', ['-tvf', '-'], { input: stream, env }).toString().split('\n').filter(Boolean)
  // restore emits the PATH itself first; ls -R lists what is below it.
  t.equal(ours.length, theirs.length - 1, 'one line per member below the path')
  const tarByName = new Map(theirs.slice(1).map(l => [fields(l).name, fields(l)]))
  for (const l of ours) {
    const a = fields(l)
    const b = tarByName.get(a.name)
    if (!b) {
      t.fail(`tar has no member ${a.name}`)
      continue
    }
    t.same(a, b, `fields of ${a.name}`)
  }
  t.ok(ours.some(l => l.startsWith('h') && l.includes(' link to ')), 'a hardlink line is among them')
  t.ok(ours.some(l => l.startsWith('crw') && / 1,3 /.test(l)), 'device numbers in the size column')
  t.ok(ours.some(l => l.includes('\\377\\n')), 'undecodable bytes escaped as tar does')
})

t.test('cat of a multi-chunk file equals the original; cat of a directory is refused', async t => {
  const { savedir, src } = setup(t)
  const s = saveOk(savedir, 'r', [src])
  const out = tarshiftOk(['cat', '-r', savedir, s.id, join(src, 'big.bin')]).stdout
  t.ok(out.equals(readFileSync(join(src, 'big.bin'))), 'bytes equal (1 MiB + 77 in 64K chunks)')
  t.equal(tarshiftOk(['cat', '-r', savedir, 'latest', join(src, 'small.txt')]).stdout.toString(), 'small file\n')
  const dir = tarshift(['cat', '-r', savedir, 'latest', join(src, 'sub')])
  t.equal(dir.status, 2, showRun(dir))
  t.match(dir.stderr, /not a regular file/)
  const missing = tarshift(['cat', '-r', savedir, 'latest', join(src, 'nope')])
  t.equal(missing.status, 2)
  t.match(missing.stderr, /no such path in the saveset/)
})

t.test('diff between two saves lists exactly the changed paths', async t => {
  const { savedir, src } = setup(t)
  const a = saveOk(savedir, 'r', [src])
  writeFileSync(join(src, 'big.bin'), seededBytes(1024 * 1024 + 77, 8))
  chmodSync(join(src, 'mode.sh'), 0o755)
  rmSync(join(src, 'gone'))
  writeFileSync(join(src, 'sub', 'new.txt'), 'new\n')
  for (const p of ['big.bin', 'mode.sh', 'sub/new.txt', 'sub', '.']) utimesSync(join(src, p), HOUR_AGO, HOUR_AGO)
  const b = saveOk(savedir, 'r', [src])
  const r = tarshiftOk(['diff', '-r', savedir, a.id, b.id, src])
  const lines = r.stdout.toString().split('\n').filter(Boolean).sort()
  t.same(lines, [
    `+ ${src}/sub/new.txt`,
    `- ${src}/gone`,
    `M ${src} (mtime)`,
    `M ${src}/big.bin (content, mtime)`,
    `M ${src}/mode.sh (mode, mtime)`,
    `M ${src}/sub (mtime)`,
  ].sort(), r.stdout.toString())
  const json = tarshiftOk(['diff', '-r', savedir, a.id, b.id, src, '--json']).stdout.toString().split('\n').filter(Boolean).map(l => JSON.parse(l) as { change: string; path: string; what?: string[] })
  t.same(json.find(d => d.path === `${src}/mode.sh`), { change: 'modified', path: `${src}/mode.sh`, what: ['mode', 'mtime'] })
  const same = tarshiftOk(['diff', '-r', savedir, b.id, b.id])
  t.equal(same.stdout.length, 0, 'a saveset against itself: no differences')
  t.equal(same.status, 0)
  const file = tarshiftOk(['diff', '-r', savedir, a.id, b.id, join(src, 'big.bin')]).stdout.toString().trim()
  t.equal(file, `M ${src}/big.bin (content, mtime)`, 'a file PATH compares that file')
})

t.test('info: totals and ratios without decompressing', async t => {
  const { savedir, src } = setup(t)
  saveOk(savedir, 'r', [src])
  saveOk(savedir, 'r', [src])
  const info = JSON.parse(tarshiftOk(['info', '-r', savedir, '--json']).stdout.toString()) as Record<string, number | unknown>
  t.equal(info.savesets, 2)
  t.ok((info.objects as number) > 16, `objects counted (${String(info.objects)})`)
  t.ok((info.dedupRatio as number) > 1.9, `two equal savesets deduplicate about 2x (${String(info.dedupRatio)})`)
  t.ok((info.storedBytes as number) > 1024 * 1024, 'stored bytes include the big file')
  const text = tarshiftOk(['info', '-r', savedir]).stdout.toString()
  t.match(text, /savesets +2/)
  t.match(text, /dedup +\d+\.\d\dx/)
  const spawned = spawnSync('true')
  t.equal(spawned.status, 0)
})
