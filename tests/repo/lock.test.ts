// Savedir locks (lib/repo/lock.ts, DESIGN.md §5) on a local directory: lock files created with
// O_EXCL and named host.pid.random.kind.lock, shared locks coexist, exclusive excludes all, stale
// locks (dead pid on this host, or not refreshed for 30 minutes) are ignored and removed by
// unlock, --wait waits, a blocked taker leaves no lock file behind, and verify() notices a lost lock.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { Lock, isStale, listLocks, removeLocks, STALE_MS, type LockInfo } from '../../lib/repo/lock.js'
import { TarshiftError } from '../../lib/errors.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

type TapT = Parameters<typeof tmpDirFor>[0]

/** A directory with an empty locks/: all that lock.ts needs of a savedir. */
function lockDir(t: TapT): string {
  const dir = tmpDirFor(t, 'tarshift-lock-')
  fs.mkdirSync(path.join(dir, 'locks'))
  return dir
}

function lockFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'locks')).sort()
}

/** A lock file written by hand, as another process (or a crashed one) would have left it. */
function foreignLock(dir: string, o: { host?: string; pid: number; kind: 'shared' | 'exclusive'; operation?: string; ageMs?: number; name?: string; body?: string }): string {
  const host = o.host ?? os.hostname()
  const name = o.name ?? `${host}.${o.pid}.abcd.${o.kind}.lock`
  const p = path.join(dir, 'locks', name)
  const start = new Date(Date.now() - (o.ageMs ?? 0)).toISOString()
  fs.writeFileSync(p, o.body ?? JSON.stringify({ host, pid: o.pid, operation: o.operation ?? 'save', kind: o.kind, start }) + '\n')
  if (o.ageMs) {
    const when = new Date(Date.now() - o.ageMs)
    fs.utimesSync(p, when, when)
  }
  return name
}

/** A pid that is certainly not running: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const c = spawn('true')
  await new Promise(r => c.on('close', r))
  return c.pid as number
}

/** A live process that is not us: a sleeping child, killed at teardown. */
function livePid(t: TapT): number {
  const c = spawn('sleep', ['600'], { stdio: 'ignore' })
  t.teardown(() => {
    c.kill('SIGKILL')
  })
  return c.pid as number
}

async function lockedError(p: Promise<unknown>): Promise<TarshiftError> {
  try {
    await p
  } catch (e) {
    if (e instanceof TarshiftError) return e
    throw e
  }
  throw new Error('expected TARSHIFT_LOCKED, the lock was granted')
}

t.test('a shared lock: one file with host, pid, operation, kind, start; released on release()', async t => {
  const dir = lockDir(t)
  const lock = await Lock.acquire(dir, 'shared', 'save')
  const files = lockFiles(dir)
  t.equal(files.length, 1)
  const name = files[0] as string
  t.match(name, new RegExp(`^${os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_').replace(/\./g, '\\.')}\\.${process.pid}\\.[0-9a-f]{8}\\.shared\\.lock$`))
  const body = JSON.parse(fs.readFileSync(path.join(dir, 'locks', name), 'utf8')) as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['host', 'kind', 'operation', 'pid', 'start'])
  t.equal(body.host, os.hostname())
  t.equal(body.pid, process.pid)
  t.equal(body.operation, 'save')
  t.equal(body.kind, 'shared')
  t.ok(Math.abs(Date.parse(body.start as string) - Date.now()) < 60_000, 'start is now')
  t.equal(fs.statSync(path.join(dir, 'locks', name)).mode & 0o777, 0o600, 'lock file 0600')
  const [info] = listLocks(dir)
  t.equal(info?.file, name)
  t.equal(info?.kind, 'shared')
  lock.release()
  lock.release() // twice is harmless
  t.same(lockFiles(dir), [], 'released')
})

t.test('shared locks coexist; exclusive excludes every other lock, and a blocked taker leaves no file', async t => {
  const dir = lockDir(t)
  const a = await Lock.acquire(dir, 'shared', 'save')
  const b = await Lock.acquire(dir, 'shared', 'restore')
  t.equal(lockFiles(dir).length, 2, 'two shared locks at once')

  const e1 = await lockedError(Lock.acquire(dir, 'exclusive', 'expire'))
  t.equal(e1.code, 'TARSHIFT_LOCKED')
  t.match(e1.message, new RegExp(`shared lock of (save|restore) by pid ${process.pid} on ${os.hostname()}`), 'names the holder')
  t.match(e1.message, /--wait|unlock/, 'says what to do')
  t.equal(lockFiles(dir).length, 2, 'the blocked exclusive taker removed its own lock file')

  a.release()
  b.release()
  const x = await Lock.acquire(dir, 'exclusive', 'expire')
  const e2 = await lockedError(Lock.acquire(dir, 'shared', 'save'))
  t.equal(e2.code, 'TARSHIFT_LOCKED')
  t.match(e2.message, /exclusive lock of expire by pid/)
  const e3 = await lockedError(Lock.acquire(dir, 'exclusive', 'expire'))
  t.equal(e3.code, 'TARSHIFT_LOCKED', 'a second exclusive taker is refused too')
  t.equal(lockFiles(dir).length, 1)
  x.release()
  t.same(lockFiles(dir), [])
})

t.test('stale locks: dead pid on this host, or not refreshed for 30 minutes; fresh foreign ones count', async t => {
  const dir = lockDir(t)
  const dead = await deadPid()
  const live = livePid(t)
  foreignLock(dir, { pid: dead, kind: 'exclusive' })
  foreignLock(dir, { pid: 999999, kind: 'exclusive', name: `${os.hostname()}.999999.abcd.shared.lock` })
  foreignLock(dir, { host: 'elsewhere.example', pid: 42, kind: 'exclusive', ageMs: STALE_MS + 60_000 })
  const byName = (): Map<string, LockInfo> => new Map(listLocks(dir).map(l => [l.file, l]))
  for (const l of byName().values()) t.ok(isStale(l), `stale: ${l.file}`)

  // Stale locks do not block, neither shared nor exclusive takers.
  const x = await Lock.acquire(dir, 'exclusive', 'expire')
  x.release()

  // A fresh lock of another host cannot be checked by pid: it blocks.
  const other = foreignLock(dir, { host: 'elsewhere.example', pid: 42, kind: 'shared', ageMs: STALE_MS - 60_000 })
  t.notOk(isStale(byName().get(other) as LockInfo), 'foreign host, refreshed 29 minutes ago: live')
  const e = await lockedError(Lock.acquire(dir, 'exclusive', 'expire'))
  t.match(e.message, /shared lock of save by pid 42 on elsewhere\.example/)
  fs.unlinkSync(path.join(dir, 'locks', other))

  // A live pid of this host blocks however old its lock's start time.
  const mine = foreignLock(dir, { pid: live, kind: 'shared', ageMs: 60_000 })
  t.notOk(isStale(byName().get(mine) as LockInfo), 'live pid: not stale')
  await lockedError(Lock.acquire(dir, 'exclusive', 'expire'))

  // unlock: only the stale ones; --force: all.
  const removed = removeLocks(dir, false).map(l => l.file).sort()
  t.equal(removed.length, 3, 'unlock removes the three stale locks')
  t.same(lockFiles(dir), [mine], 'the live lock stays')
  t.same(removeLocks(dir, true).map(l => l.file), [mine], 'unlock --force removes the live one too')
  t.same(lockFiles(dir), [])
})

t.test('a lock file not written yet (its taker between create and write) counts as what its name says', async t => {
  const dir = lockDir(t)
  const live = livePid(t)
  const name = foreignLock(dir, { pid: live, kind: 'shared', body: '' })
  const [l] = listLocks(dir)
  t.equal(l?.file, name)
  t.equal(l?.kind, 'shared', 'the kind its name gives')
  t.equal(l?.pid, live)
  t.equal(l?.host, os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_'))
  t.notOk(isStale(l as LockInfo), 'its process lives: not stale')
  const s = await Lock.acquire(dir, 'shared', 'save')
  s.release()
  t.pass('a shared taker goes on beside it')
  const e = await lockedError(Lock.acquire(dir, 'exclusive', 'expire'))
  t.match(e.message, `by pid ${live}`, 'an exclusive taker is blocked, and told by whom')
  t.same(removeLocks(dir, false), [], 'unlock leaves it')
})

t.test('a lock file left empty by a crash is stale once its process is gone', async t => {
  const dir = lockDir(t)
  const dead = await deadPid()
  const name = foreignLock(dir, { pid: dead, kind: 'exclusive', body: '' })
  const [l] = listLocks(dir)
  t.equal(l?.kind, 'exclusive')
  t.ok(isStale(l as LockInfo), 'dead pid on this host: stale at once, not after 30 minutes')
  const x = await Lock.acquire(dir, 'exclusive', 'expire')
  x.release()
  t.same(removeLocks(dir, false).map(r => r.file), [name], 'unlock removes it')
})

t.test('a lock file that is not JSON and whose name says nothing blocks until 30 minutes old', async t => {
  const dir = lockDir(t)
  const name = foreignLock(dir, { pid: 1, kind: 'shared', body: '{"host":', name: 'odd-name.lock' })
  const [l] = listLocks(dir)
  t.equal(l?.file, name)
  t.equal(l?.kind, 'exclusive', 'treated as exclusive')
  t.notOk(isStale(l as LockInfo), 'fresh: not stale')
  await lockedError(Lock.acquire(dir, 'shared', 'save'))
  const old = new Date(Date.now() - STALE_MS - 60_000)
  fs.utimesSync(path.join(dir, 'locks', name), old, old)
  const s = await Lock.acquire(dir, 'shared', 'save')
  s.release()
  t.same(removeLocks(dir, false).map(x => x.file), [name], 'unlock removes it once stale')
})

t.test('other files in locks/ are ignored', async t => {
  const dir = lockDir(t)
  fs.writeFileSync(path.join(dir, 'locks', 'README'), 'not a lock')
  fs.writeFileSync(path.join(dir, 'locks', '.x.lock.host.1.ab.tmp'), '')
  t.same(listLocks(dir), [])
  const x = await Lock.acquire(dir, 'exclusive', 'expire')
  x.release()
})

t.test('--wait: an exclusive taker waits for the holder to go; it gives up at the deadline', async t => {
  const dir = lockDir(t)
  const live = livePid(t)
  const holder = foreignLock(dir, { pid: live, kind: 'shared' })

  const t0 = Date.now()
  const e = await lockedError(Lock.acquire(dir, 'exclusive', 'expire', { waitMs: 1500 }))
  const waited = Date.now() - t0
  t.equal(e.code, 'TARSHIFT_LOCKED')
  t.ok(waited >= 1500 && waited < 15_000, `gave up after the wait (${waited} ms)`)
  t.same(lockFiles(dir), [holder], 'no lock file of ours left behind')

  setTimeout(() => fs.unlinkSync(path.join(dir, 'locks', holder)), 800)
  const t1 = Date.now()
  const x = await Lock.acquire(dir, 'exclusive', 'expire', { waitMs: 60_000 })
  t.ok(Date.now() - t1 >= 700, 'acquired only after the holder went')
  t.equal(lockFiles(dir).length, 1)
  x.release()
})

t.test('a local filesystem skips the settle pause of an exclusive taker', async t => {
  const dir = lockDir(t)
  const t0 = Date.now()
  const x = await Lock.acquire(dir, 'exclusive', 'expire', { settleMs: 20_000 })
  t.ok(Date.now() - t0 < 10_000, `no 20 s pause on ${os.tmpdir()} (${Date.now() - t0} ms)`)
  x.release()
})

t.test('refresh() moves the lock file mtime; verify() fails once the lock file is gone', async t => {
  const dir = lockDir(t)
  const lock = await Lock.acquire(dir, 'shared', 'save')
  const old = new Date(Date.now() - 10 * 60_000)
  fs.utimesSync(lock.path, old, old)
  lock.refresh()
  t.ok(Date.now() - fs.statSync(lock.path).mtimeMs < 60_000, 'refreshed to now')
  t.doesNotThrow(() => lock.verify(), 'a fresh lock verifies')
  fs.unlinkSync(lock.path) // unlock --force by someone else
  t.throws(() => lock.verify(), { code: 'TARSHIFT_LOCKED' })
  lock.release() // the file is already gone: no error
})
