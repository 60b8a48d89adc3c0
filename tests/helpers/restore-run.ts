// Helpers for the restore integration tests: a saved fullFixture, `tarshift restore` piped into
// real GNU tar (two processes, as a user runs them), GNU tar run on a captured stream, and the
// warnings GNU tar 1.34 is known to print for a correct tarshift stream.
//
// GNU tar runs with LC_ALL=C.UTF-8: it then escapes names in listings exactly as showPath()
// does (valid UTF-8 kept, other bytes as \ooo, newline as \n), so listings compare with
// showPath() of the saved paths.
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { buildTree, fullFixture, tmpDir, tmpDirFor } from './fixture-tree.js'
import { newSavedir, saveOk, TARSHIFT_BIN } from './cli.js'

type TapT = Parameters<typeof tmpDirFor>[0]

/**
 * Our environment without what tap injects (its NODE_OPTIONS hooks make node load bin/tarshift
 * as CommonJS and fail; tap's process-info hook also puts NODE_OPTIONS back into every child's
 * environment, so tarshift runs through `env -u NODE_OPTIONS`, and shell pipelines unset it),
 * without TARSHIFT_SAVEDIR, with the local cache in a temp dir (as cli.ts does).
 */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('_TAPJS_') || k === 'TAP' || k.startsWith('TAP_') || k === 'TARSHIFT_SAVEDIR') continue
    env[k] = v
  }
  return { ...env, XDG_CACHE_HOME: cacheHome(), ...extra }
}

let cacheDir: string | undefined
function cacheHome(): string {
  cacheDir ??= tmpDir('tarshift-cache-')
  return cacheDir
}

/** For GNU tar, and for shell pipelines that run tarshift (they must `unset NODE_OPTIONS`). */
export const TAR_ENV: NodeJS.ProcessEnv = cleanEnv({ LC_ALL: 'C.UTF-8', TZ: 'UTC' })
const TARSHIFT_ENV: NodeJS.ProcessEnv = cleanEnv({ LC_ALL: 'C' })
/** argv prefix that runs bin/tarshift without tap's hooks. */
export const TARSHIFT_ARGV = ['env', '-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN]
/** The same for a shell command line (words already safe). */
export const TARSHIFT_SH = `env -u NODE_OPTIONS ${shQuote(process.execPath)} ${shQuote(TARSHIFT_BIN)}`

/** `tar -xpf -` options that restore everything tarshift writes (owners by number, all xattrs). */
export const EXTRACT = ['-xpf', '-', '--xattrs', '--xattrs-include=*', '--numeric-owner']

export interface SavedFixture {
  /** The temp dir holding src/ and out*. */
  dir: string
  /** The saved tree (absolute). */
  src: string
  /** `src` as a member name: without the leading '/'. */
  base: string
  savedir: string
  id: string
}

/** fullFixture(bigSize) at <tmp>/src, saved into a new savedir made with `initArgs`. */
export function savedFullFixture(t: TapT, bigSize: number, initArgs: string[] = []): SavedFixture {
  const dir = tmpDirFor(t, 'tarshift-restore-')
  const src = path.join(dir, 'src')
  buildTree(src, fullFixture(bigSize))
  const savedir = newSavedir(t, initArgs)
  const { id } = saveOk(savedir, 'restore-test', [src])
  return { dir, src, base: src.replace(/^\/+/, ''), savedir, id }
}

/** Number of '/'-separated components of an absolute path. */
export function componentCount(abs: string): number {
  return abs.split('/').filter(c => c.length > 0).length
}

export interface ProcResult {
  status: number | null
  stdout: string
  stderr: string
}

export interface PipeResult {
  restore: { status: number | null; stderr: string }
  tar: ProcResult
}

/**
 * `tarshift restore RESTOREARGS... | tar TARARGS...`, two processes joined by pipes through this
 * one (so tar's early exit reaches tarshift as a closed pipe), both exit codes returned.
 */
export function restoreToTar(restoreArgs: string[], tarArgs: string[], cwdOrEnv?: string | NodeJS.ProcessEnv): Promise<PipeResult> {
  const cwd = typeof cwdOrEnv === 'string' ? cwdOrEnv : undefined
  const env = typeof cwdOrEnv === 'object' ? { ...TARSHIFT_ENV, ...cwdOrEnv } : TARSHIFT_ENV
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = TARSHIFT_ARGV as [string, ...string[]]
    const a = spawn(cmd, [...pre, 'restore', ...restoreArgs], { stdio: ['ignore', 'pipe', 'pipe'], env })
    const b = spawn('tar', tarArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: TAR_ENV, ...(cwd ? { cwd } : {}) })
    const errA: Buffer[] = []
    const outB: Buffer[] = []
    const errB: Buffer[] = []
    a.stderr.on('data', (d: Buffer) => errA.push(d))
    b.stdout.on('data', (d: Buffer) => outB.push(d))
    b.stderr.on('data', (d: Buffer) => errB.push(d))
    a.stdout.pipe(b.stdin)
    // tar went away: close our end so that tarshift meets EPIPE instead of blocking.
    b.stdin.on('error', () => a.stdout.destroy())
    let left = 2
    let statusA: number | null = null
    let statusB: number | null = null
    const done = (): void => {
      if (--left > 0) return
      resolve({
        restore: { status: statusA, stderr: Buffer.concat(errA).toString() },
        tar: { status: statusB, stdout: Buffer.concat(outB).toString(), stderr: Buffer.concat(errB).toString() },
      })
    }
    a.on('error', reject)
    b.on('error', reject)
    a.on('close', code => {
      statusA = code
      done()
    })
    b.on('close', code => {
      statusB = code
      done()
    })
  })
}

/** GNU tar run on a captured stream (stdin). */
export function tarOn(stream: Buffer, args: string[], cwd?: string): ProcResult {
  const r = spawnSync('tar', args, { input: stream, env: TAR_ENV, maxBuffer: 256 * 1024 * 1024, ...(cwd ? { cwd } : {}) })
  if (r.error) throw r.error
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}

/** Member names of a stream as `tar -tf -` prints them (escaped like showPath). */
export function tarNames(stream: Buffer): { status: number | null; names: string[]; stderr: string } {
  const r = tarOn(stream, ['-tf', '-'])
  return { status: r.status, names: r.stdout.split('\n').filter(l => l.length > 0), stderr: r.stderr }
}

/** `tar -tvf -` lines. */
export function tarVerbose(stream: Buffer): string[] {
  const r = tarOn(stream, ['-tvf', '-', '--numeric-owner'])
  if (r.status !== 0) throw new Error(`tar -tvf failed (${r.status}): ${r.stderr}`)
  return r.stdout.split('\n').filter(l => l.length > 0)
}

/** The `tar -tv` line of member `name` (exact name, or name + " link to ..." / " -> ..."). */
export function verboseLine(lines: string[], name: string): string | undefined {
  return lines.find(l => {
    const i = l.indexOf(` ${name}`)
    if (i < 0) return false
    const rest = l.slice(i + 1 + name.length)
    return rest === '' || rest.startsWith(' link to ') || rest.startsWith(' -> ')
  })
}

/** The only warnings GNU tar 1.34 prints for a correct stream of fullFixture: its pre-1970 and
 *  year-2100 mtimes. (Anything else, e.g. "Ignoring unknown extended header keyword", is news.) */
const KNOWN_TAR_WARNINGS = [
  /: implausibly old time stamp /,
  /: time stamp .* in the future$/,
]

/** Lines of tar's stderr other than the known warnings above. */
export function unexpectedTarWarnings(stderr: string): string[] {
  return stderr.split('\n').filter(l => l.length > 0 && !KNOWN_TAR_WARNINGS.some(re => re.test(l)))
}

/** Single-quotes a word for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
