// An object's data is made durable before its name (lib/repo/object-durability.ts, doc/format.md
// §9), watched from outside: the real bin/tarshift saves under strace(1), and for every object
// renamed into place the log must show, on the same thread and before that rename, the call the
// savedir's durability asks for on the temporary's descriptor:
//   ordered   sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)        (then one syncfs per batch)
//   writeOut  sync_file_range(fd, 0, 0, WAIT_BEFORE|WRITE|WAIT_AFTER) (then one syncfs per batch)
//   fsync     fsync(fd)                                              (then the directories' fsyncs)
// for puts in C (zstd) and in the store's workers (xz). The mode is forced with
// TARSHIFT_OBJECT_DURABILITY, the savedir being on one file system here; on this machine's ext4
// and with no override, a save uses `ordered` (checked too).
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { buildTree, seededBytes, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { TARSHIFT_BIN, initSavedirAt, showRun } from '../helpers/cli.js'

const KiB = 1024

function sourceTree(): FixtureNode {
  const entries: Record<string, FixtureNode> = {}
  for (let i = 0; i < 12; i++) entries[`big-${i}`] = { type: 'file', content: seededBytes(40 * KiB + i * 1000, 100 + i) }
  for (let i = 0; i < 30; i++) entries[`small-${i}`] = { type: 'file', content: seededBytes(300 + i, 200 + i) }
  return { type: 'dir', children: { sub: { type: 'dir', children: entries }, 'top.bin': { type: 'file', content: seededBytes(200 * KiB, 7) } } }
}

interface Call { tid: string; name: string; args: string; result: string }

/** strace -f lines as calls: "<tid> name(args) = result", with "<unfinished ...>" and "<... name resumed>" joined. */
function parseStrace(log: string): Call[] {
  const calls: Call[] = []
  const open = new Map<string, { name: string; args: string }>()
  for (const line of log.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    const tid = m[1] as string
    const rest = m[2] as string
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest)
    if (unfinished) { open.set(tid, { name: unfinished[1] as string, args: unfinished[2] as string }); continue }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\)\s+=\s+(.*)$/.exec(rest)
    if (resumed) {
      const o = open.get(tid)
      open.delete(tid)
      if (o) calls.push({ tid, name: o.name, args: o.args + (resumed[2] as string), result: resumed[3] as string })
      continue
    }
    const whole = /^(\w+)\((.*)\)\s+=\s+(.*)$/.exec(rest)
    if (whole) calls.push({ tid, name: whole[1] as string, args: whole[2] as string, result: whole[3] as string })
  }
  return calls
}

const WANT: Record<string, RegExp> = {
  ordered: /^sync_file_range\(FD, 0, 0, SYNC_FILE_RANGE_WRITE\)$/,
  writeOut: /^sync_file_range\(FD, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE\|SYNC_FILE_RANGE_WRITE\|SYNC_FILE_RANGE_WAIT_AFTER\)$/,
  fsync: /^fsync\(FD\)$/,
}

/** Per object renamed into place: the durability call made on its temporary before the rename, or what was found instead. */
function durabilityCalls(calls: Call[]): { objects: number; byCall: Map<string, number>; dirFsyncs: number; syncfs: number } {
  const byCall = new Map<string, number>()
  const fdOfTemp = new Map<string, { tid: string; fd: string; at: number }>()
  const dirFds = new Set<string>()
  let objects = 0
  let dirFsyncs = 0
  let syncfs = 0
  calls.forEach((c, i) => {
    if (c.name === 'openat') {
      const p = /^AT_FDCWD, "([^"]+)"/.exec(c.args)?.[1]
      if (p && /\/chunks\/[0-9a-f]+\/\.[0-9a-f]{64}\.data\..*\.tmp$/.test(p) && /^\d+$/.test(c.result)) fdOfTemp.set(p, { tid: c.tid, fd: c.result, at: i })
      if (p && /\/chunks\/[0-9a-f]+$/.test(p) && c.args.includes('O_DIRECTORY') && /^\d+$/.test(c.result)) dirFds.add(`${c.tid}:${c.result}`)
    } else if (c.name === 'fsync' && dirFds.has(`${c.tid}:${c.args}`)) {
      dirFsyncs++
    } else if (c.name === 'syncfs') {
      syncfs++
    } else if (c.name === 'rename') {
      const m = /^"([^"]+)", "([^"]+)"$/.exec(c.args)
      const temp = m?.[1]
      if (!temp || !m?.[2]?.endsWith('.data') || !fdOfTemp.has(temp)) return
      objects++
      const { tid, fd, at } = fdOfTemp.get(temp) as { tid: string; fd: string; at: number }
      let found = 'none'
      for (let k = at + 1; k < i; k++) {
        const d = calls[k] as Call
        if (d.tid !== tid || (d.name !== 'fsync' && d.name !== 'sync_file_range')) continue
        if (d.args === fd || d.args.startsWith(`${fd},`)) found = `${d.name}(${d.args.replace(/^\d+/, 'FD')})`
      }
      byCall.set(found, (byCall.get(found) ?? 0) + 1)
    }
  })
  return { objects, byCall, dirFsyncs, syncfs }
}

function straceSave(t: Test, mode: string | null, compression: string): ReturnType<typeof durabilityCalls> {
  const work = tmpDirFor(t)
  const src = path.join(work, 'src')
  buildTree(src, sourceTree())
  const savedir = initSavedirAt(path.join(work, 'sd'), ['--compression', compression])
  const log = path.join(work, 'strace.log')
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache'), LC_ALL: 'C' }
  delete env.TARSHIFT_OBJECT_DURABILITY
  if (mode !== null) env.TARSHIFT_OBJECT_DURABILITY = mode
  const r = spawnSync('strace', ['-f', '-qq', '-s', '512', '-o', log, '-e', 'trace=openat,fsync,sync_file_range,rename,syncfs',
    'env', '-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN, 'save', '-r', savedir, '--subset', 's', src, '--progress', 'none'], { env, timeout: 120_000 })
  if (r.error) throw r.error
  t.equal(r.status, 0, `save under strace: ${showRun({ status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString() })}`)
  return durabilityCalls(parseStrace(fs.readFileSync(log, 'latin1')))
}

t.test('strace parsing joins calls split between threads', async t => {
  const calls = parseStrace([
    '10 openat(AT_FDCWD, "/s/chunks/ab/.x.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600 <unfinished ...>',
    '11 fsync(7) = 0',
    '10 <... openat resumed>) = 23',
    '10 rename("/a", "/b") = 0',
  ].join('\n'))
  t.same(calls.map(c => [c.tid, c.name, c.result]), [['11', 'fsync', '0'], ['10', 'openat', '23'], ['10', 'rename', '0']])
  t.equal(calls[1]?.args, 'AT_FDCWD, "/s/chunks/ab/.x.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600')
})

for (const compression of ['zstd', 'xz']) {
  for (const mode of ['ordered', 'writeOut', 'fsync']) {
    t.test(`${compression} (${compression === 'zstd' ? 'puts in C' : 'puts in the workers'}), durability ${mode}: every object's data before its name`, async t => {
      const got = straceSave(t, mode, compression)
      t.ok(got.objects >= 13, `objects renamed into place: ${got.objects}`)
      const want = WANT[mode] as RegExp
      const [[call, n] = ['none', 0], ...others] = [...got.byCall.entries()]
      t.same(others, [], `one kind of call for all objects: ${JSON.stringify([...got.byCall])}`)
      t.match(call, want, `each object: ${call}`)
      t.equal(n, got.objects)
      if (mode === 'fsync') {
        t.ok(got.dirFsyncs >= 1, `the directories written into fsynced: ${got.dirFsyncs}`)
        t.equal(got.syncfs, 0, 'no syncfs')
      } else {
        t.ok(got.syncfs >= 1, `names made durable by syncfs: ${got.syncfs}`)
      }
    })
  }
}

t.test('with no override, a savedir on this ext4 (ordered data) is written `ordered`', async t => {
  const dev = fs.readFileSync('/proc/self/mountinfo', 'latin1')
  const got = straceSave(t, null, 'zstd')
  t.ok(got.objects >= 13)
  const [[call] = ['none']] = [...got.byCall.entries()]
  // The test's temp dir is on the machine's root file system: ext4 here (CI too), else say so.
  const rootIsExt4 = /^\S+ \S+ \S+ \S+ \/ .* - ext4 /m.test(dev)
  t.ok(rootIsExt4, 'the root file system is ext4 (the machine this suite is written for)')
  t.match(call, WANT.ordered as RegExp)
})
