// Running the real bin/tarshift from integration tests, and looking at a savedir from outside:
// its object files, its saveset summaries, its whole state (to prove "nothing was written").
//
// tarshift() runs the CLI synchronously with a fresh Node process and returns status, stdout
// (bytes: restore writes tar) and stderr (text). Arguments are strings: paths with odd bytes
// go through --files-from (bytes on stdin), never through argv.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SavesetSummary } from '../../lib/repo/saveset.js'
import { removeTmpDir, tmpDir, tmpDirFor } from './fixture-tree.js'

/** bin/tarshift of this checkout (tests run from dist/tests/...). */
export const TARSHIFT_BIN = fileURLToPath(new URL('../../../bin/tarshift', import.meta.url))

export interface CliResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

export interface CliOptions {
  /** Bytes for stdin (default: an empty pipe). */
  input?: Buffer | string
  /** Run as this user and group (supplementary groups are dropped). */
  uid?: number
  gid?: number
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** ms; default 120 s. */
  timeout?: number
}

/**
 * The environment for a tarshift child: ours without what the test runner injects (tap's
 * NODE_OPTIONS loads its process-info hooks, which must not wrap the program under test: they
 * make node load bin/tarshift as CommonJS and fail).
 */
function childEnv(extra: NodeJS.ProcessEnv = {}, uid = process.getuid?.() ?? 0): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('_TAPJS_') || k === 'TAP' || k.startsWith('TAP_')) continue
    env[k] = v
  }
  // No TARSHIFT_SAVEDIR from the caller's environment: every test names its savedir.
  delete env.TARSHIFT_SAVEDIR
  // The local cache goes to a temp dir of this test process, never to the user's ~/.cache.
  return { ...env, LC_ALL: 'C', XDG_CACHE_HOME: testCacheHome(uid), ...extra }
}

const cacheHomes = new Map<number, string>()

/** A temp XDG_CACHE_HOME of this test process for the user `uid`, owned by that user. */
function testCacheHome(uid: number): string {
  let dir = cacheHomes.get(uid)
  if (dir === undefined) {
    dir = tmpDir('tarshift-cache-')
    if (uid !== process.getuid?.()) {
      fs.chmodSync(dir, 0o755)
      fs.chownSync(dir, uid, -1)
    }
    cacheHomes.set(uid, dir)
  }
  return dir
}

/** Runs `tarshift ARGS...` to completion. */
export function tarshift(args: string[], opts: CliOptions = {}): CliResult {
  // Through env(1): tap's process-info hook puts NODE_OPTIONS back into any child's environment.
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN, ...args], {
    input: opts.input ?? '',
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    env: childEnv(opts.env, opts.uid),
    maxBuffer: 1024 * 1024 * 1024,
    timeout: opts.timeout ?? 120_000,
  })
  if (r.error) throw r.error
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString() }
}

/** A compact description of a run for assertion messages. */
export function showRun(r: CliResult): string {
  const err = r.stderr.trim()
  return `exit ${r.status ?? r.signal}${err ? `; stderr: ${err.length > 2000 ? err.slice(0, 2000) + '...' : err}` : ''}`
}

/** Runs tarshift and throws (with its stderr) unless it exits with `want` (default 0). */
export function tarshiftOk(args: string[], opts: CliOptions = {}, want = 0): CliResult {
  const r = tarshift(args, opts)
  if (r.status !== want) throw new Error(`tarshift ${args.join(' ')}: expected exit ${want}, got ${showRun(r)}`)
  return r
}

/** `tarshift init -r DIR ARGS...` into DIR (which must not exist or be empty). */
export function initSavedirAt(dir: string, args: string[] = []): string {
  tarshiftOk(['init', '-r', dir, ...args])
  return dir
}

/** A new savedir `sd` in a fresh temp dir removed at the test's end. */
export function newSavedir(t: Parameters<typeof tmpDirFor>[0], args: string[] = []): string {
  return initSavedirAt(path.join(tmpDirFor(t, 'tarshift-savedir-'), 'sd'), args)
}

/** What `tarshift save --json` prints. */
export interface SaveJson {
  id: string
  host: string
  subset: string
  files: number
  dirs: number
  bytesTotal: number
  bytesRead: number
  bytesNew: number
  objectsNew: number
  filesRead: number
  warnings: number
  seconds: number
  dryRun: boolean
}

/** Parses the --json line of a save run (throws with the run's stderr when there is none). */
export function saveJson(r: CliResult): SaveJson {
  const line = r.stdout.toString().trim()
  try {
    return JSON.parse(line) as SaveJson
  } catch {
    throw new Error(`save printed no JSON summary (${showRun(r)}); stdout: ${JSON.stringify(line)}`)
  }
}

/** `tarshift save -r SAVEDIR --subset SUBSET --progress none --json ARGS...`, expecting `want`. */
export function saveOk(savedir: string, subset: string, args: string[], opts: CliOptions = {}, want = 0): SaveJson {
  return saveJson(tarshiftOk(['save', '-r', savedir, '--subset', subset, '--progress', 'none', '--json', ...args], opts, want))
}

/** `tarshift list -r SAVEDIR --json`. */
export function listSavesets(savedir: string): SavesetSummary[] {
  return JSON.parse(tarshiftOk(['list', '-r', savedir, '--json']).stdout.toString()) as SavesetSummary[]
}

/** The summary of one saveset by id, read through `list --json`. */
export function summaryOf(savedir: string, id: string): SavesetSummary {
  const s = listSavesets(savedir).find(x => x.id === id)
  if (!s) throw new Error(`saveset ${id} not listed in ${savedir}`)
  return s
}

/** Names (sha256 hex) of every object in the savedir: chunks/ab/<hash>.data. */
export function objectNames(savedir: string): Set<string> {
  const out = new Set<string>()
  const chunks = path.join(savedir, 'chunks')
  for (const fan of fs.readdirSync(chunks)) {
    for (const name of fs.readdirSync(path.join(chunks, fan))) {
      if (name.endsWith('.data') && !name.startsWith('.')) out.add(name.slice(0, -'.data'.length))
    }
  }
  return out
}

/** Object names in `after` that are not in `before`. */
export function added(before: Set<string>, after: Set<string>): Set<string> {
  return new Set([...after].filter(h => !before.has(h)))
}

/**
 * Every file and directory under `dir` (the dir itself as '.') with its type, mode, size and
 * mtime: two equal states mean nothing was created, removed or written there.
 */
export function dirState(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (abs: string, rel: string): void => {
    const st = fs.lstatSync(abs, { bigint: true })
    out.set(rel, `${st.mode.toString(8)} ${st.size} ${st.mtimeNs}`)
    if (st.isDirectory()) for (const n of fs.readdirSync(abs)) walk(path.join(abs, n), rel === '.' ? n : `${rel}/${n}`)
  }
  walk(dir, '.')
  return out
}

/** Differences between two dirState() results, readable, at most `max`. */
export function stateDiff(a: Map<string, string>, b: Map<string, string>, max = 10): string[] {
  const out: string[] = []
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} -> ${b.get(k) ?? '(gone)'}`)
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: (new) ${v}`)
  return out.slice(0, max)
}

/**
 * A temp dir created directly under "/" when we may (else under os.tmpdir()), removed at the
 * test's end. Saved paths are absolute, so a save records the ancestors of what it saves; under
 * /tmp that includes /tmp's own mtime, which any concurrent test changes by creating its temp
 * dirs. Tests that compare root tree hashes of two saves need ancestors nobody else touches:
 * "/" itself has no entry in a saveset, and a private top-level dir changes only when we do.
 */
export function stableTmpDir(t: { teardown(fn: () => void): unknown }, prefix: string): string {
  let dir: string
  try {
    dir = fs.mkdtempSync(path.join('/', `${prefix}.`))
  } catch {
    return tmpDirFor(t, `${prefix}-`)
  }
  const remove = (): void => removeTmpDir(dir)
  t.teardown(remove)
  process.on('exit', remove)
  return dir
}

/** Non-empty lines of a command's stderr. */
export function stderrLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter(l => l.length > 0)
}
