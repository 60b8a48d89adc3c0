// Helpers for the expire, lock, ENOSPC and sshfs integration tests (tests/integration/
// {expire,locks,enospc,sshfs}*.test.ts): a whole-savedir digest (to prove "nothing changed"),
// rewriting saveset times, the objects each saveset reaches (through lib/expire/mark.js, as
// expire itself sees them), `tarshift restore | tar -xpf -` compared with a snapshot taken when
// the saveset was made, tarshift in the background, and verifying every object with the library.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { listSummaries, type SavesetSummary } from '../../lib/repo/saveset.js'
import { markReachable } from '../../lib/expire/mark.js'
import type { Test } from 'tap'
import { TARSHIFT_BIN } from './cli.js'
import { compareTrees, type CompareOptions } from './compare-trees.js'
import { snapshotTree, type NodeSnapshot } from './tree-snapshot.js'
import { tmpDir, tmpDirFor } from './fixture-tree.js'

type TapT = Parameters<typeof tmpDirFor>[0]

let cacheHome: string | undefined
/** The local cache of tarshift children started here (not the user's ~/.cache). */
export function expireCacheHome(): string {
  if (cacheHome === undefined) {
    cacheHome = tmpDir('tarshift-cache-')
    fs.chmodSync(cacheHome, 0o1777)
  }
  return cacheHome
}

/** Our environment without tap's hooks (see cli.ts), without TARSHIFT_SAVEDIR, with a test cache. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('_TAPJS_') || k === 'TAP' || k.startsWith('TAP_') || k === 'TARSHIFT_SAVEDIR') continue
    env[k] = v
  }
  return { ...env, LC_ALL: 'C', XDG_CACHE_HOME: expireCacheHome(), ...extra }
}

/** argv that runs bin/tarshift without tap's NODE_OPTIONS hooks; env(1) execs node, so the
 *  child's pid is tarshift's own. */
export const TARSHIFT_ARGV: [string, ...string[]] = ['env', '-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN]

// ---------------------------------------------------------------------------------------------
// The savedir from outside

export interface DigestOptions {
  /** Directories (relative, '/'-separated) whose own mtime is left out: locks/ changes whenever
   *  a command takes and drops its lock, which is no change to the savedir's content. */
  ignoreDirMtime?: string[]
}

/**
 * Every entry under `dir`: type, mode, size, mtime (ns) and, for files, a SHA-256 of the bytes.
 * Two equal digests mean nothing was created, removed, written or touched.
 */
export function savedirDigest(dir: string, opts: DigestOptions = { ignoreDirMtime: ['locks'] }): Map<string, string> {
  const ignore = new Set(opts.ignoreDirMtime ?? [])
  const out = new Map<string, string>()
  const walk = (abs: string, rel: string): void => {
    const st = fs.lstatSync(abs, { bigint: true })
    if (st.isDirectory()) {
      out.set(rel, `dir ${st.mode.toString(8)}${ignore.has(rel) ? '' : ` mtime=${st.mtimeNs}`}`)
      for (const n of fs.readdirSync(abs).sort()) walk(path.join(abs, n), rel === '.' ? n : `${rel}/${n}`)
      return
    }
    const sha = st.isFile() ? createHash('sha256').update(fs.readFileSync(abs)).digest('hex') : '-'
    out.set(rel, `${st.isFile() ? 'file' : 'other'} ${st.mode.toString(8)} size=${st.size} mtime=${st.mtimeNs} sha256=${sha}`)
  }
  walk(dir, '.')
  return out
}

/** Readable differences between two digests (at most `max`). */
export function digestDiff(a: Map<string, string>, b: Map<string, string>, max = 10): string[] {
  const out: string[] = []
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} -> ${b.get(k) ?? '(gone)'}`)
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: (new) ${v}`)
  return out.slice(0, max)
}

/** Temporaries (".NAME.HOST.PID.RANDOM.tmp") anywhere in the savedir. */
export function tempFiles(savedir: string): string[] {
  const out: string[] = []
  const walk = (abs: string): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
      const p = path.join(abs, d.name)
      if (d.isDirectory()) walk(p)
      else if (d.name.endsWith('.tmp')) out.push(path.relative(savedir, p))
    }
  }
  walk(savedir)
  return out
}

/** Every .data object: name → path. */
export function dataObjects(savedir: string): Map<string, string> {
  const out = new Map<string, string>()
  const chunks = path.join(savedir, 'chunks')
  for (const fan of fs.readdirSync(chunks)) {
    for (const name of fs.readdirSync(path.join(chunks, fan))) {
      if (name.endsWith('.data') && !name.startsWith('.')) out.set(name.slice(0, -'.data'.length), path.join(chunks, fan, name))
    }
  }
  return out
}

/** The summary file of a saveset, parsed. */
export function readSummaryFile(savedir: string, id: string): SavesetSummary {
  return JSON.parse(fs.readFileSync(path.join(savedir, 'savesets', `${id}.json`), 'utf8')) as SavesetSummary
}

/**
 * Rewrites a saveset's summary file as if the save had started at `start` and taken
 * `durationMs`; `complete: false` makes it incomplete (finish null, a checkpoint time instead).
 */
export function setSavesetTimes(savedir: string, id: string, start: Date, opts: { durationMs?: number; complete?: boolean } = {}): SavesetSummary {
  const p = path.join(savedir, 'savesets', `${id}.json`)
  const s = readSummaryFile(savedir, id)
  const end = new Date(start.getTime() + (opts.durationMs ?? 60_000))
  s.start = start.toISOString()
  if (opts.complete === false) {
    s.finish = null
    s.checkpoint = end.toISOString()
  } else {
    s.finish = end.toISOString()
  }
  fs.writeFileSync(p, JSON.stringify(s, null, 1) + '\n', { mode: 0o600 })
  return s
}

/** Opens the savedir's store (one worker), runs fn, always closes the store. */
export async function withStore<T>(savedir: string, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = new ObjectStore(savedir, readConfig(savedir), { workers: 1 })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** Every object each saveset reaches, as expire's mark phase sees it: id → object names. */
export async function reachablePerSaveset(savedir: string, summaries: SavesetSummary[] = listSummaries(savedir)): Promise<Map<string, Set<string>>> {
  return withStore(savedir, async store => {
    const out = new Map<string, Set<string>>()
    for (const s of summaries) out.set(s.id, (await markReachable(store, [s])).marked)
    return out
  })
}

/** The union of sets. */
export function union(sets: Iterable<Set<string>>): Set<string> {
  const out = new Set<string>()
  for (const s of sets) for (const x of s) out.add(x)
  return out
}

/** Reads and verifies (hash, header, decompression) every .data object through the library. */
export async function verifyAllObjects(savedir: string): Promise<{ count: number; bad: string[] }> {
  const objs = dataObjects(savedir)
  const bad: string[] = []
  await withStore(savedir, async store => {
    for (const h of objs.keys()) {
      try {
        await store.get(h)
      } catch (e) {
        bad.push(`${h}: ${(e as Error).message}`)
      }
    }
  })
  return { count: objs.size, bad }
}

/**
 * `tarshift check ARGS` when check is implemented; `stub: true` while lib/cli/check-command.ts
 * is still the placeholder ("check is not built yet"), so callers can fall back to the library.
 */
export function runCheck(savedir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): { stub: boolean; status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TARSHIFT_ARGV[0], [...TARSHIFT_ARGV.slice(1), 'check', '-r', savedir, ...args], { env: childEnv(env), timeout: 600_000, maxBuffer: 256 * 1024 * 1024 })
  if (r.error) throw r.error
  const stderr = r.stderr.toString()
  return { stub: /check is not built yet/.test(stderr), status: r.status, stdout: r.stdout.toString(), stderr }
}

// ---------------------------------------------------------------------------------------------
// Restore through GNU tar

export interface RestoreOutcome {
  /** `tarshift restore` exit code and stderr. */
  status: number | null
  stderr: string
  /** tar's exit code, stdout (what --diff and -t print) and stderr. */
  tarStatus: number | null
  tarStdout: string
  tarStderr: string
}

/** `tarshift restore -r SAVEDIR ID [PATH] | TAR ARGS...`: two processes, both exit codes. */
export function restorePipe(savedir: string, id: string, tarArgs: string[], opts: { path?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RestoreOutcome> {
  return new Promise((resolve, reject) => {
    const a = spawn(TARSHIFT_ARGV[0], [...TARSHIFT_ARGV.slice(1), 'restore', '-r', savedir, id, ...(opts.path ? [opts.path] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(opts.env),
    })
    const b = spawn('tar', tarArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv({ TZ: 'UTC' }) })
    const ea: Buffer[] = []
    const ob: Buffer[] = []
    const eb: Buffer[] = []
    a.stderr.on('data', (d: Buffer) => ea.push(d))
    b.stdout.on('data', (d: Buffer) => ob.push(d))
    b.stderr.on('data', (d: Buffer) => eb.push(d))
    a.stdout.pipe(b.stdin)
    b.stdin.on('error', () => a.stdout.destroy())
    let left = 2
    const out: RestoreOutcome = { status: null, stderr: '', tarStatus: null, tarStdout: '', tarStderr: '' }
    const done = (): void => {
      if (--left > 0) return
      out.stderr = Buffer.concat(ea).toString()
      out.tarStdout = Buffer.concat(ob).toString()
      out.tarStderr = Buffer.concat(eb).toString()
      resolve(out)
    }
    a.on('error', reject)
    b.on('error', reject)
    a.on('close', c => { out.status = c; done() })
    b.on('close', c => { out.tarStatus = c; done() })
  })
}

export const EXTRACT_ARGS = ['-xpf', '-', '--xattrs', '--xattrs-include=*', '--numeric-owner']

/**
 * Restores saveset `id` into a fresh dir and compares the restored copy of `src` (an absolute
 * saved path) with `expected` (a snapshot taken when the saveset was made), field by field.
 * One assertion for the pipeline, one for the tree; returns the differences.
 */
export async function assertRestoresTo(t: Test, savedir: string, id: string, src: string, expected: NodeSnapshot[], opts: CompareOptions = {}): Promise<string[]> {
  const out = tmpDirFor(t, 'tarshift-expire-out-')
  const r = await restorePipe(savedir, id, [...EXTRACT_ARGS, '-C', out])
  t.equal(`${r.status}/${r.tarStatus}`, '0/0', `restore ${id} | tar -x: exit codes (restore: ${r.stderr.trim()}; tar: ${r.tarStderr.trim()})`)
  const restored = path.join(out, src)
  if (!fs.existsSync(restored)) {
    t.fail(`restore ${id}: ${src} not restored`)
    return ['missing']
  }
  const diffs = compareTrees(expected, snapshotTree(restored), { labels: ['saved', 'restored'], ...opts })
  if (diffs.length === 0) t.pass(`saveset ${id} restores byte-exact`)
  else t.fail(`saveset ${id} restores with ${diffs.length} difference(s), first: ${diffs[0]}`, { differences: diffs.slice(0, 20) })
  return diffs
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface Background {
  child: ChildProcess
  pid: number
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
  /** stderr so far. */
  stderr(): string
}

/** `tarshift ARGS...` in the background; killed (SIGKILL, by its pid) at teardown if still running. */
export function tarshiftBackground(t: TapT, args: string[], env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(TARSHIFT_ARGV[0], [...TARSHIFT_ARGV.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout?.on('data', (d: Buffer) => out.push(d))
  child.stderr?.on('data', (d: Buffer) => err.push(d))
  let exited = false
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (status, signal) => {
      exited = true
      resolve({ status, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
  })
  t.teardown(() => {
    if (!exited && child.pid) {
      try { process.kill(child.pid, 'SIGCONT') } catch { /* gone */ }
      try { process.kill(child.pid, 'SIGKILL') } catch { /* gone */ }
    }
  })
  return { child, pid: child.pid as number, done, stderr: () => Buffer.concat(err).toString() }
}

/** Polls `pred` every `everyMs` until it returns a value other than undefined, or null on timeout. */
export async function waitFor<T>(pred: () => T | undefined, timeoutMs: number, everyMs = 20): Promise<T | null> {
  const end = performance.now() + timeoutMs
  for (;;) {
    const v = pred()
    if (v !== undefined) return v
    if (performance.now() > end) return null
    await new Promise(r => setTimeout(r, everyMs))
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms))
}
