// What the tree split rule (tarshift.json `treeParts`, doc/format.md §5.5) costs and saves on a
// corpus: for each rule, a new savedir, a first save, an unchanged save, 1% of the files with a
// line appended (as benchmarks/compare.mjs changes corpus A), a third save, the change undone,
// and a restore to /dev/null. Cold page cache before each timed command when allowed (root).
//   node benchmarks/probes/tree-parts.mjs CORPUS ROUNDS legacy 65536/262144/15 ...
// A rule is min/max/mask, or `legacy` (no treeParts: the rule of savedirs before session 15).
import { execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, lstatSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const [corpus, roundsArg, ...rules] = process.argv.slice(2)
if (!corpus || !rules.length) throw new Error('usage: tree-parts.mjs CORPUS ROUNDS RULE...')
const BIN = resolve(new URL('../../bin/tarshift', import.meta.url).pathname)
const work = '/tmp/tarshift-tree-parts'

function dropCaches() {
  try {
    execFileSync('sync')
    writeFileSync('/proc/sys/vm/drop_caches', '3\n')
  } catch { /* not root: warm */ }
}

function timed(args, env) {
  dropCaches()
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', BIN, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`tarshift ${args.join(' ')}: ${r.stderr}`)
  const [s, kb] = r.stderr.trim().split('\n').at(-1).split(' ')
  return { s: Number(s), mb: Number(kb) / 1024 }
}

const du = dir => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) / 1e6
const count = dir => Number(execFileSync('sh', ['-c', `find ${dir}/chunks -name '*.data' | wc -l`], { encoding: 'utf8' }))

const files = execFileSync('sh', ['-c', `find "${corpus}" -type f -print0 | LC_ALL=C sort -z | tr '\\0' '\\n'`], { encoding: 'utf8', maxBuffer: 1 << 30 }).split('\n').filter(Boolean)
const picked = files.filter((_, i) => i % 100 === 99)

for (let round = 0; round < Number(roundsArg); round++) {
  for (const rule of rules) {
    const repo = join(work, 'repo')
    rmSync(work, { recursive: true, force: true })
    const env = { ...process.env, XDG_CACHE_HOME: join(work, 'cache') }
    execFileSync(BIN, ['init', '-r', repo], { env, stdio: 'ignore' })
    const cfgPath = join(repo, 'tarshift.json')
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'))
    if (rule === 'legacy') delete cfg.treeParts
    else {
      const [min, max, mask] = rule.split('/').map(Number)
      cfg.treeParts = { min, max, mask }
    }
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2) + '\n')
    const save = ['save', '-r', repo, '--subset', 'probe', corpus, '--progress', 'none']
    const first = timed(save, env)
    const size1 = du(join(repo, 'chunks'))
    const objects1 = count(repo)
    const unchanged = timed(save, env)
    const sizes = picked.map(f => lstatSync(f).size)
    for (const f of picked) appendFileSync(f, 'tarshift tree-parts probe: changed\n')
    let changed
    try {
      changed = timed(save, env)
    } finally {
      picked.forEach((f, i) => { if (existsSync(f)) truncateSync(f, sizes[i]) })
    }
    const size3 = du(join(repo, 'chunks'))
    const restore = timed(['restore', '-r', repo, 'latest'], env)
    console.log(`${rule.padEnd(18)} first ${first.s.toFixed(2)} s ${first.mb.toFixed(0)} MB | size ${size1.toFixed(1)} MB, ${objects1} objects | unchanged ${unchanged.s.toFixed(2)} s ${unchanged.mb.toFixed(0)} MB | changed ${changed.s.toFixed(2)} s, +${(size3 - size1).toFixed(1)} MB (${picked.length} files) | restore ${restore.s.toFixed(2)} s ${restore.mb.toFixed(0)} MB`)
  }
}
rmSync(work, { recursive: true, force: true })
