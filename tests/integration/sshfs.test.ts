// A savedir on sshfs (DESIGN.md §2, §4, §5: "a local disk, or an NFS / sshfs / CIFS mount"):
// scripts/sshfs-setup.sh starts sshd on 127.0.0.1 with generated keys and mounts a local dir
// through it; then init, save, an incremental save that reads no file, list, restore | tar --diff,
// expire (which, the savedir not being local, pauses and lists the locks again before acting),
// check --read-data, all through the mount. A lock that another host creates on the server while
// expire pauses is seen by expire's second listing despite sshfs's directory cache.
//
// The FUSE device must exist (or be creatable): on a machine without it this test FAILS, it does
// not skip, since CI runs as root on the same kind of machine as development.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTree, seededBytes, setMtimeNs, type FixtureNode } from '../helpers/fixture-tree.js'
import { saveJson, showRun, stableTmpDir, tarshift, type SaveJson } from '../helpers/cli.js'
import { snapshotTree } from '../helpers/tree-snapshot.js'
import type { SavesetSummary } from '../../lib/repo/saveset.js'
import { pageCacheKept } from '../../lib/repo/page-cache-kept.js'
import { FUSE_SUPER_MAGIC } from '../../lib/repo/savedir-fs-type.js'
import { createRequire } from 'node:module'
import {
  assertRestoresTo, dataObjects, reachablePerSaveset, restorePipe, runCheck, setSavesetTimes, sleep, tarshiftBackground, tempFiles,
  union, verifyAllObjects, waitFor,
} from '../helpers/run-cli-expire.js'

const { remoteSavedir } = createRequire(import.meta.url)('../../../bin/remote-savedir.cjs') as { remoteSavedir: (args: string[], env: NodeJS.ProcessEnv) => boolean }
const SCRIPTS = fileURLToPath(new URL('../../../scripts/', import.meta.url))
const KiB = 1024
const MiB = 1024 * KiB
const DAY = 24 * 3600_000
/** The exclusive taker's pause on a network filesystem, shortened for most runs here. */
const SETTLE_MS = 1500

/** n hours ago in ns, whole seconds (exact through utimes). */
function hoursAgoNs(h: number): bigint {
  return BigInt(Math.floor(Date.now() / 1000 - h * 3600)) * 1_000_000_000n
}

function fuseDevice(): string | null {
  if (fs.existsSync('/dev/fuse')) return null
  const r = spawnSync('mknod', ['-m', '0666', '/dev/fuse', 'c', '10', '229'])
  if (r.status === 0 && fs.existsSync('/dev/fuse')) return null
  return `/dev/fuse does not exist and cannot be created (mknod /dev/fuse c 10 229: ${r.stderr.toString().trim() || `exit ${r.status}`}); ` +
    'the sshfs test needs FUSE: run as root on a machine with the fuse module'
}

function sourceTree(): FixtureNode {
  const old = hoursAgoNs(3)
  const dirs: Record<string, FixtureNode> = {}
  for (let d = 0; d < 6; d++) {
    const files: Record<string, FixtureNode> = {}
    for (let f = 0; f < 25; f++) files[`f${f}.txt`] = { type: 'file', size: 100 + ((d * 31 + f * 977) % 6000), seed: 70_000 + d * 100 + f, mtimeNs: old }
    dirs[`d${d}`] = { type: 'dir', children: files, mtimeNs: old }
  }
  return {
    type: 'dir',
    mtimeNs: old,
    children: {
      ...dirs,
      'big.bin': { type: 'file', size: 5 * MiB + 123, seed: 71_000, mtimeNs: old },
      'mid.bin': { type: 'file', size: 40 * KiB, seed: 71_001, mtimeNs: old },
      empty: { type: 'file', content: '', mtimeNs: old },
      private: { type: 'file', content: 'mode 0600\n', mode: 0o600, mtimeNs: old },
      link: { type: 'symlink', target: 'd0/f0.txt', mtimeNs: old },
      'hard-a': { type: 'file', size: 30 * KiB, seed: 71_002, mtimeNs: old },
      'hard-b': { type: 'hardlink', to: 'hard-a' },
      fifo: { type: 'fifo', mtimeNs: old },
    },
  }
}

t.test('a savedir on sshfs: init, save, incremental, list, restore | tar --diff, expire, check', async t => {
  if (process.getuid?.() !== 0) {
    t.fail('the sshfs test needs root (sshd with its own config, FUSE mounts), as CI has')
    return
  }
  const noFuse = fuseDevice()
  if (noFuse) {
    t.fail(noFuse)
    return
  }
  // Our own dirs (not tmpDirFor): the mount must be gone before anything under it is removed.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tarshift-sshfs-'))
  const remote = path.join(work, 'remote')
  const mnt = path.join(work, 'mnt')
  fs.mkdirSync(remote)
  fs.mkdirSync(mnt)
  t.teardown(() => {
    spawnSync('bash', [path.join(SCRIPTS, 'sshfs-teardown.sh'), work, mnt], { stdio: 'ignore' })
    if (!fs.existsSync(mnt) || spawnSync('mountpoint', ['-q', mnt]).status !== 0) fs.rmSync(work, { recursive: true, force: true })
  })
  const setup = spawnSync('bash', [path.join(SCRIPTS, 'sshfs-setup.sh'), work, remote, mnt], { timeout: 60_000 })
  if (setup.status !== 0) {
    t.fail(`scripts/sshfs-setup.sh failed: ${setup.stderr.toString().trim() || `exit ${setup.status}`}`)
    return
  }
  const port = /PORT=(\d+)/.exec(setup.stdout.toString())?.[1]
  t.ok(port, `sshd on 127.0.0.1:${port}, ${remote} mounted at ${mnt}`)
  t.equal(fs.statfsSync(mnt).type, FUSE_SUPER_MAGIC, 'the mount is a FUSE file system')
  // Why objects are not read ahead here (lib/repo/page-cache-kept.ts): a file's cached pages do
  // not survive its next open, so what a read-ahead fetched would be fetched again.
  const probe = path.join(mnt, 'probe')
  fs.writeFileSync(probe, seededBytes(256 * KiB, 3))
  fs.readFileSync(probe)
  const cached = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', probe]).stdout.toString().trim()
  t.equal(cached, '0', `on sshfs a file read is no longer cached once opened again (fincore: ${cached})`)
  fs.rmSync(probe)
  t.equal(pageCacheKept(mnt), false, 'so the store reads no object ahead there')
  t.equal(remoteSavedir(['-r', mnt, 'latest'], {}), true, 'and bin/tarshift gives a save there 32 threads, a restore from there 16')

  const env = { TARSHIFT_LOCK_SETTLE_MS: String(SETTLE_MS) }
  const run = (args: string[], want = 0): ReturnType<typeof tarshift> => {
    const r = tarshift(args, { env, timeout: 300_000 })
    t.equal(r.status, want, `tarshift ${args[0]}: exit ${want} (${showRun(r)})`)
    return r
  }
  const savedir = path.join(mnt, 'sd')
  const onServer = path.join(remote, 'sd')
  // Under "/" (stableTmpDir): the saved ancestors do not change when other tests make temp dirs
  // in /tmp, so an unchanged source saves to the same trees.
  const src = path.join(stableTmpDir(t, 'tarshift-sshfs-src'), 'src')
  buildTree(src, sourceTree())
  const snap1 = snapshotTree(src)

  run(['init', '-r', savedir])
  t.ok(fs.existsSync(path.join(onServer, 'tarshift.json')), 'the savedir was created on the server side')
  t.equal(fs.readdirSync(path.join(onServer, 'chunks')).length, 256, '256 fan-out directories')

  const save = (): SaveJson => saveJson(run(['save', '-r', savedir, '--subset', 'net', '--progress', 'none', '--json', src]))
  const s1 = save()
  t.ok(s1.filesRead > 150, `first save reads the files (${s1.filesRead})`)
  t.ok(s1.objectsNew >= 3, `and stores objects (${s1.objectsNew})`)
  const s2 = save() as SaveJson & { references?: string[]; filesReused?: number }
  t.equal(s2.filesRead, 0, 'the incremental save reads no file')
  t.equal(s2.filesReused, s1.filesRead, 'it reuses every file')
  t.equal(s2.objectsNew, 0, 'and stores no object')
  t.same(s2.references, [s1.id])

  const list = JSON.parse(run(['list', '-r', savedir, '--json']).stdout.toString()) as SavesetSummary[]
  t.same(list.map(s => s.id), [s1.id, s2.id], 'list shows both savesets')
  t.ok(list.every(s => s.finish !== null), 'both completed')

  const diff = await restorePipe(savedir, 'latest', ['--diff', '-f', '-', '-C', '/'], { path: src, env })
  t.equal(`${diff.status}/${diff.tarStatus}`, '0/0', `restore latest | tar --diff -f - -C /: no difference (${diff.stderr}${diff.tarStdout}${diff.tarStderr})`)
  t.equal(diff.tarStdout, '', 'tar --diff printed nothing')
  await assertRestoresTo(t, savedir, s2.id, src, snap1)

  // A change, a third save, the first saveset ten days old: expire keeps the newest only.
  const changed = path.join(src, 'd3', 'f7.txt')
  fs.writeFileSync(changed, seededBytes(3000, 72_000))
  setMtimeNs(changed, hoursAgoNs(2))
  setMtimeNs(path.dirname(changed), hoursAgoNs(2))
  fs.writeFileSync(path.join(src, 'mid.bin'), seededBytes(40 * KiB, 72_001))
  setMtimeNs(path.join(src, 'mid.bin'), hoursAgoNs(2))
  setMtimeNs(src, hoursAgoNs(2))
  const snap3 = snapshotTree(src)
  const s3 = save()
  t.equal(s3.filesRead, 2, 'the third save reads the two changed files')
  setSavesetTimes(savedir, s1.id, new Date(Date.now() - 10 * DAY))

  const reach = await reachablePerSaveset(savedir)
  const t0 = performance.now()
  const ex = run(['expire', '-r', savedir, '--keep-last', '1', '--grace', '0', '--json'])
  const took = Math.round(performance.now() - t0)
  t.ok(took >= SETTLE_MS, `expire paused ${SETTLE_MS} ms before acting, the savedir not being local (took ${took} ms)`)
  const ej = JSON.parse(ex.stdout.toString()) as { removedSavesets: string[]; objectsRemoved: number }
  t.same([...ej.removedSavesets].sort(), [s1.id, s2.id].sort(), 'the two older savesets went')
  const kept = reach.get(s3.id) as Set<string>
  const onlyOld = [...union([reach.get(s1.id) as Set<string>, reach.get(s2.id) as Set<string>])].filter(h => !kept.has(h))
  t.ok(onlyOld.length >= 2, `some objects were used only by them (${onlyOld.length})`)
  t.equal(ej.objectsRemoved, onlyOld.length, 'exactly those objects were removed')
  t.same([...dataObjects(onServer).keys()].sort(), [...kept].sort(), 'the server holds exactly the objects of the kept saveset')

  const diff3 = await restorePipe(savedir, s3.id, ['--diff', '-f', '-', '-C', '/'], { path: src, env })
  t.equal(`${diff3.status}/${diff3.tarStatus}`, '0/0', `after expire, restore | tar --diff: no difference (${diff3.stderr}${diff3.tarStdout}${diff3.tarStderr})`)
  await assertRestoresTo(t, savedir, s3.id, src, snap3)

  const check = runCheck(savedir, ['--read-data'], env)
  if (check.stub) {
    t.comment('tarshift check is still a stub: objects verified through the library instead')
    const v = await verifyAllObjects(savedir)
    t.same(v.bad, [], `all ${v.count} objects verify`)
  } else {
    t.equal(check.status, 0, `check --read-data through sshfs (${check.stderr.trim()})`)
  }

  // Another host's lock, created on the server while expire pauses (after its first listing).
  // sshfs caches directory listings (20 s by default): the default 30 s pause outlasts that cache,
  // so the second listing sees the lock, and expire backs off.
  const before = new Set(dataObjects(onServer).keys())
  const slow = tarshiftBackground(t, ['expire', '-r', savedir, '--keep-last', '1', '--grace', '0'], { TARSHIFT_LOCK_SETTLE_MS: '' })
  const own = await waitFor(() => fs.readdirSync(path.join(onServer, 'locks')).find(n => n.endsWith('.exclusive.lock')), 30_000)
  t.ok(own, 'expire created its exclusive lock on the server')
  await sleep(1000)
  const foreign = 'otherhost.4242.abcd.shared.lock'
  fs.writeFileSync(path.join(onServer, 'locks', foreign), JSON.stringify({ host: 'otherhost', pid: 4242, operation: 'save', kind: 'shared', start: new Date().toISOString() }) + '\n')
  const rs = await slow.done
  t.equal(rs.status, 11, `the lock that appeared during the pause stops expire: exit 11 (${rs.stderr.trim()})`)
  t.match(rs.stderr, /shared lock of save by pid 4242 on otherhost/)
  t.same(new Set(dataObjects(onServer).keys()), before, 'nothing removed')
  const u = run(['unlock', '-r', savedir])
  t.match(u.stderr, /0 lock\(s\) removed/, 'a fresh lock of another host is not stale')
  const f = run(['unlock', '-r', savedir, '--force'])
  t.match(f.stderr, /removed shared lock of save by pid 4242 on otherhost/)

  t.same(tempFiles(onServer), [], 'no temporaries on the server')
  t.same(fs.readdirSync(path.join(onServer, 'locks')), [], 'no lock left on the server')
})
