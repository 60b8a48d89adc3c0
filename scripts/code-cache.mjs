// Writes V8's code caches of the CLI's bundle (bin/load-bundle.cjs), the last step of
// `npm run build`: runs bin/tarshift on a small tree in a temporary directory with
// TARSHIFT_CODE_CACHE=write, so that each cache holds the bytecode of what its commands ran.
//   save:  a first save, then an unchanged one (the cache kept is the unchanged save's: the
//          short command start-up matters most to; a first save compiles the rest itself)
//   other: a restore to a tar stream, every other command's start-up
// Without a cache (this step not run, or failed) tarshift works the same, compiling as it goes.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

const bin = new URL('../bin/tarshift', import.meta.url).pathname
const tmp = mkdtempSync(join(tmpdir(), 'tarshift-code-cache-'))
try {
  const tree = join(tmp, 'tree')
  for (let d = 0; d < 4; d++) {
    mkdirSync(join(tree, `d${d}`, 'sub'), { recursive: true })
    for (let f = 0; f < 20; f++) writeFileSync(join(tree, `d${d}`, f % 2 ? 'sub' : '', `f${f}`), randomBytes(f * 700))
  }
  writeFileSync(join(tree, 'large'), randomBytes(3 * 1024 * 1024))
  const env = { ...process.env, XDG_CACHE_HOME: join(tmp, 'cache') }
  delete env.TARSHIFT_CODE_CACHE
  const sd = join(tmp, 'savedir')
  const run = (args, write, stdout = 'ignore') => execFileSync(bin, args, { env: write ? { ...env, TARSHIFT_CODE_CACHE: 'write' } : env, stdio: ['ignore', stdout, 'pipe'] })
  run(['init', '-r', sd], false)
  run(['save', '-r', sd, '--subset', 'cc', '--progress', 'none', tree], false)
  run(['save', '-r', sd, '--subset', 'cc', '--progress', 'none', tree], true)
  const out = openSync('/dev/null', 'w')
  try {
    run(['restore', '-r', sd, 'latest'], true, out)
  } finally {
    closeSync(out)
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
