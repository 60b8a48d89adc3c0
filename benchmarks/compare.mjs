// Driver for benchmarks/compare.sh: tarshift against restic and borg on the same corpora, in the
// same run. Start it through compare.sh, which installs the tools and builds the corpora.
//
// For every run (BENCH_RUNS, default 3) and corpus, each tool (order rotated from run to run):
//   fresh repository -> first save -> unchanged save; then the corpus is changed (A and C: a
//   line appended to every 100th regular file; B: 4 random MiB of one image overwritten) and each
//   tool saves again; the change is undone; then each tool restores its latest snapshot as a tar
//   stream to /dev/null and through an extraction into an empty directory.
// Times are wall-clock from performance.now() (monotonic) around the child process; peak RSS is
// /usr/bin/time's %M (KiB, the largest process in the command). Medians over runs are reported.
//
// Environment: BENCH_RUNS, BENCH_QUICK=1, BENCH_TOOLS=tarshift,restic,borg, BENCH_CORPORA=A,B,C,
// BENCH_CACHE=auto|cold|warm, BENCH_DOC=0|1 (write doc/performance.md; default 1 unless quick),
// BENCH_REPO_ROOT=DIR (the repositories under DIR, e.g. an sshfs mount: compare.sh with
// BENCH_SAVEDIR=sshfs; its own section of the doc).
//
// Re-render the tables of an earlier run without measuring (BENCH_DOC=1 to write the doc too):
//   node benchmarks/compare.mjs --report benchmarks/work/full/results-<date>.json
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statfsSync, writeFileSync, writeSync, readdirSync, lstatSync, truncateSync, appendFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const REPORT_FILE = process.argv[2] === '--report' ? process.argv[3] : null
const saved = REPORT_FILE ? JSON.parse(readFileSync(REPORT_FILE, 'utf8')) : null
const QUICK = saved ? saved.quick ?? false : process.env.BENCH_QUICK === '1'
const MODE = QUICK ? 'quick' : 'full'
const WORK = join(ROOT, 'benchmarks', 'work', MODE)
let RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3))
const TOOLS = saved?.tools ?? (process.env.BENCH_TOOLS ?? 'tarshift,restic,borg').split(',').filter(Boolean)
const CORPORA = saved?.corpora ?? (process.env.BENCH_CORPORA ?? 'A,B,C').split(',').filter(Boolean)
const WRITE_DOC = (process.env.BENCH_DOC ?? (QUICK ? '0' : '1')) === '1'
const TARSHIFT = process.env.BENCH_TARSHIFT ?? join(ROOT, 'bin', 'tarshift')
const REPO_ROOT = saved ? saved.repoRoot ?? null : process.env.BENCH_REPO_ROOT ?? null
const REMOTE = REPO_ROOT !== null
const SECTION = REMOTE ? '## Comparison with restic and borg, savedir over sshfs' : '## Comparison with restic and borg'
const SNAP = dirname(dirname(TARSHIFT))
const MiB = 1024 * 1024

if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`BENCH_RUNS must be a positive integer, not ${process.env.BENCH_RUNS}`)
for (const t of TOOLS) if (!['tarshift', 'restic', 'borg'].includes(t)) throw new Error(`unknown tool in BENCH_TOOLS: ${t}`)

// ---------------------------------------------------------------- helpers

function sh(cmd, opts = {}) {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; ${cmd}`], { encoding: 'utf8', maxBuffer: 64 * MiB, ...opts })
  if (r.status !== 0 && !opts.allowFail) throw new Error(`command failed (${r.status}): ${cmd}\n${(r.stderr ?? '').slice(-2000)}`)
  return (r.stdout ?? '').trim()
}

function log(msg) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

function duBytes(path) {
  return existsSync(path) ? Number(sh(`du -sb ${q(path)} | cut -f1`)) : 0
}

function fileBytes(path) {
  return existsSync(path) ? Number(sh(`find ${q(path)} -type f -printf '%s\\n' | awk '{b+=$1} END {printf "%d", b}'`)) : 0
}

function q(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`
}

// ---------------------------------------------------------------- page cache

function canDropCaches() {
  try {
    sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    return true
  } catch {
    return false
  }
}
const cacheWanted = process.env.BENCH_CACHE ?? 'auto'
const COLD = saved ? saved.cold : cacheWanted === 'warm' ? false : canDropCaches()
if (!saved && cacheWanted === 'cold' && !COLD) throw new Error('BENCH_CACHE=cold, but /proc/sys/vm/drop_caches is not writable')

function prepareCache(corpusDir) {
  if (COLD) sh('sync; echo 3 > /proc/sys/vm/drop_caches')
  else if (corpusDir) sh(`tar -cf - -C ${q(corpusDir)} . | cat > /dev/null`) // warm: read the corpus once
}

// ---------------------------------------------------------------- corpora

function corpusInfo(dir) {
  const out = sh(`find ${q(dir)} -mindepth 1 -printf '%y %s\\n' | awk '{n++; if ($1=="f") {f++; b+=$2}} END {printf "%d %d %d", n, f, b}'`)
  const [entries, files, bytes] = out.split(' ').map(Number)
  return { dir, entries, files, bytes }
}

const corpora = {
  A: { name: 'A', dir: join(WORK, 'corpus-a'), label: QUICK ? 'corpus A (quick: 5,000 files of /usr/share)' : 'corpus A (copy of /usr/share)' },
  B: { name: 'B', dir: join(WORK, 'corpus-b'), label: 'corpus B (VM-image-like files, fixed seed)' },
  C: { name: 'C', dir: join(WORK, 'corpus-c'), label: 'corpus C (one directory of small files, fixed seed)' },
}

// The change between the second and third save, and how to undo it. The undo record is written
// to disk first, so an interrupted benchmark is undone at the next start.
const PENDING = join(WORK, 'pending-change.json')

function applyChange(c) {
  if (c.name !== 'B') {
    const files = sh(`find ${q(c.dir)} -type f -print0 | LC_ALL=C sort -z | tr '\\0' '\\n'`).split('\n').filter(Boolean)
    const picked = files.filter((_, i) => i % 100 === 99)
    const undo = { kind: 'files', files: picked.map(f => ({ f, size: lstatSync(f).size })) }
    writeFileSync(PENDING, JSON.stringify(undo))
    for (const f of picked) appendFileSync(f, `tarshift benchmark: changed at ${new Date().toISOString()}\n`)
    return `${picked.length} of ${files.length} regular files got a line appended`
  }
  const img = join(c.dir, 'vm-1.img')
  const size = lstatSync(img).size
  let seed = 0x5eed + runIndex
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296)
  const offsets = [0, 1, 2, 3].map(() => Math.floor(rnd() * (size / MiB)) * MiB)
  const fd = openSync(img, 'r+')
  const saved = offsets.map(o => {
    const b = Buffer.alloc(MiB)
    readSync(fd, b, 0, MiB, o)
    return b.toString('base64')
  })
  writeFileSync(PENDING, JSON.stringify({ kind: 'B', img, offsets, saved }))
  for (const o of offsets) writeSync(fd, randomBytes(MiB), 0, MiB, o)
  closeSync(fd)
  return `4 MiB at random offsets of vm-1.img overwritten with new random data`
}

function undoChange() {
  if (!existsSync(PENDING)) return
  const u = JSON.parse(readFileSync(PENDING, 'utf8'))
  if (u.kind === 'files' || u.kind === 'A') {
    for (const { f, size } of u.files) if (existsSync(f)) truncateSync(f, size)
  } else {
    const fd = openSync(u.img, 'r+')
    u.offsets.forEach((o, i) => writeSync(fd, Buffer.from(u.saved[i], 'base64'), 0, MiB, o))
    closeSync(fd)
  }
  rmSync(PENDING)
}

// ---------------------------------------------------------------- tools

/**
 * Directories the benchmark is done with (extractions, repositories) are moved here and deleted
 * only once every timed command has run. This machine's root file system is ext4 without a
 * journal, whose inode allocator passes over inodes freed in the last 60-300 s, reading each
 * one's inode block to see when: after the benchmark itself had deleted hundreds of thousands
 * of files (three extractions of corpus C), a tool creating thousands of files (tarshift's
 * objects) spent seconds of kernel time in that (perf: recently_deleted, find_get_block_common;
 * the store worker's open() of new objects 1.7 s of its 4.8 s). That measured the benchmark's
 * own clean-up, not the tools. If the disk is short of room, directories are deleted at once.
 */
const TRASH = join(WORK, 'trash')
let trashed = 0
function discard(path) {
  if (!existsSync(path)) return
  const free = statfsSync(WORK)
  if (free.bavail * free.bsize < 8 * 1024 ** 3) {
    rmSync(path, { recursive: true, force: true })
    return
  }
  mkdirSync(TRASH, { recursive: true })
  renameSync(path, join(TRASH, `${trashed++}`))
}

function toolHome(tool, corpus) {
  return join(WORK, 'repos', `${corpus.name}-${tool}`)
}

function toolEnv(tool, home) {
  const env = { ...process.env, XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config'), TMPDIR: join(home, 'tmp') }
  if (tool === 'restic') Object.assign(env, { RESTIC_PASSWORD: 'tarshift-benchmark', RESTIC_CACHE_DIR: join(home, 'cache', 'restic') })
  if (tool === 'borg') Object.assign(env, { BORG_BASE_DIR: home, BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' })
  return env
}

// Shell commands per tool and step. `repo`, `src`, `n` (1-based save number), `tmp` (empty dir).
const COMMANDS = {
  tarshift: {
    okCodes: [0, 1],
    init: ({ repo }) => `${q(TARSHIFT)} init -r ${q(repo)} > /dev/null`,
    save: ({ repo, src }) => `${q(TARSHIFT)} save -r ${q(repo)} --subset bench ${q(src)} --json --progress none`,
    stream: ({ repo }) => `${q(TARSHIFT)} restore -r ${q(repo)} latest > /dev/null`,
    extract: ({ repo, tmp }) => `${q(TARSHIFT)} restore -r ${q(repo)} latest | tar -xf - -C ${q(tmp)}`,
    // GNU tar moves 10 KiB a read and a write by default; 1 MiB records (doc/restore.md).
    extractBig: ({ repo, tmp }) => `${q(TARSHIFT)} restore -r ${q(repo)} latest | tar -b 2048 -xf - -C ${q(tmp)}`,
  },
  restic: {
    okCodes: [0, 3],
    init: ({ repo }) => `restic init -q --repository-version 2 -r ${q(repo)}`,
    save: ({ repo, src }) => `restic -r ${q(repo)} backup -q ${q(src)}`,
    stream: ({ repo, src }) => `restic -r ${q(repo)} dump -q latest ${q(src)} > /dev/null`,
    extract: ({ repo, tmp }) => `restic -r ${q(repo)} restore -q latest --target ${q(tmp)}`,
  },
  borg: {
    okCodes: [0, 1],
    init: ({ repo }) => `borg init -e none ${q(repo)}`,
    save: ({ repo, src, n }) => `borg create --compression zstd,3 ${q(repo)}::s${n} ${q(src)}`,
    stream: ({ repo, n }) => `borg export-tar ${q(repo)}::s${n} - > /dev/null`,
    extract: ({ repo, tmp, n }) => `cd ${q(tmp)} && borg extract ${q(repo)}::s${n}`,
  },
}

const RSS_FILE = join(WORK, 'rss.txt')

/** Run one timed step: page cache prepared, then the command under /usr/bin/time. */
function timed(tool, env, cmd, corpusDir) {
  prepareCache(corpusDir)
  const t0 = performance.now()
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', RSS_FILE, 'bash', '-c', `set -o pipefail; ${cmd}`], { env, encoding: 'utf8', maxBuffer: 64 * MiB })
  const seconds = (performance.now() - t0) / 1000
  if (!COMMANDS[tool].okCodes.includes(r.status)) {
    throw new Error(`${tool}: command failed with exit code ${r.status}: ${cmd}\n${(r.stderr ?? '').slice(-3000)}`)
  }
  if (r.status !== 0) log(`${tool}: exit code ${r.status} (warnings): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`)
  const rssLines = readFileSync(RSS_FILE, 'utf8').trim().split('\n')
  const rssKiB = Number(rssLines[rssLines.length - 1])
  return { seconds, rssKiB, stdout: r.stdout }
}

// ---------------------------------------------------------------- measurements

// results[corpus][measure][tool] = [values...]
const results = saved?.results ?? {}
const extra = saved?.extra ?? {} // tarshift save summaries etc.
const loads = saved?.loads ?? {} // load average (1 min) at the start of each corpus run
function record(corpus, measure, tool, value) {
  ;((results[corpus] ??= {})[measure] ??= {})[tool] ??= []
  results[corpus][measure][tool].push(value)
}

let runIndex = 0
const changeNotes = saved?.changeNotes ?? {}

function benchCorpus(c, run) {
  const order = TOOLS.map((_, i) => TOOLS[(i + run) % TOOLS.length])
  ;(loads[c.name] ??= []).push(loadavg()[0])
  const ctx = {}
  for (const tool of order) {
    const home = toolHome(tool, c)
    rmSync(home, { recursive: true, force: true })
    for (const d of ['cache', 'config', 'tmp']) mkdirSync(join(home, d), { recursive: true })
    const env = toolEnv(tool, home)
    const repo = REMOTE ? join(REPO_ROOT, `${c.name}-${tool}`) : join(home, 'repo')
    rmSync(repo, { recursive: true, force: true })
    sh(COMMANDS[tool].init({ repo }), { env })
    ctx[tool] = { home, env, repo }
  }
  // first and unchanged saves
  for (const tool of order) {
    const { env, repo } = ctx[tool]
    log(`run ${run + 1}/${RUNS} corpus ${c.name}: ${tool} first save`)
    const a = timed(tool, env, COMMANDS[tool].save({ repo, src: c.dir, n: 1 }), c.dir)
    record(c.name, 'first', tool, a.seconds)
    record(c.name, 'rssFirst', tool, a.rssKiB * 1024)
    record(c.name, 'sizeFirst', tool, duBytes(repo))
    record(c.name, 'sizeFirstFiles', tool, fileBytes(repo))
    if (tool === 'tarshift') (extra[c.name] ??= []).push(JSON.parse(a.stdout))
    log(`  ${a.seconds.toFixed(2)} s, peak RSS ${(a.rssKiB / 1024).toFixed(0)} MiB; ${tool} unchanged save`)
    const b = timed(tool, env, COMMANDS[tool].save({ repo, src: c.dir, n: 2 }), c.dir)
    record(c.name, 'unchanged', tool, b.seconds)
    record(c.name, 'rssUnchanged', tool, b.rssKiB * 1024)
    log(`  ${b.seconds.toFixed(2)} s, peak RSS ${(b.rssKiB / 1024).toFixed(0)} MiB`)
  }
  // changed save
  changeNotes[c.name] = applyChange(c)
  try {
    for (const tool of order) {
      const { env, repo } = ctx[tool]
      log(`run ${run + 1}/${RUNS} corpus ${c.name}: ${tool} save after change`)
      const r = timed(tool, env, COMMANDS[tool].save({ repo, src: c.dir, n: 3 }), c.dir)
      record(c.name, 'changed', tool, r.seconds)
      log(`  ${r.seconds.toFixed(2)} s`)
    }
  } finally {
    undoChange()
  }
  // sizes and restores
  for (const tool of order) {
    const { env, repo, home } = ctx[tool]
    record(c.name, 'sizeAll', tool, duBytes(repo))
    record(c.name, 'cacheSize', tool, duBytes(join(home, 'cache')) + (tool === 'borg' ? duBytes(join(home, '.cache')) : 0))
    log(`run ${run + 1}/${RUNS} corpus ${c.name}: ${tool} restore to a tar stream on /dev/null`)
    const s = timed(tool, env, COMMANDS[tool].stream({ repo, src: c.dir, n: 3 }))
    record(c.name, 'stream', tool, s.seconds)
    record(c.name, 'rssStream', tool, s.rssKiB * 1024)
    log(`  ${s.seconds.toFixed(2)} s`)
    // The extraction the issue asks for (tar's defaults), then tarshift's with 1 MiB records.
    for (const [key, what] of [['extract', 'restore by extraction'], ['extractBig', 'restore by extraction, tar -b 2048']]) {
      if (!COMMANDS[tool][key]) continue
      log(`run ${run + 1}/${RUNS} corpus ${c.name}: ${tool} ${what}`)
      const tmp = join(home, 'extract')
      rmSync(tmp, { recursive: true, force: true })
      mkdirSync(tmp)
      const x = timed(tool, env, COMMANDS[tool][key]({ repo, tmp, n: 3 }))
      record(c.name, key, tool, x.seconds)
      log(`  ${x.seconds.toFixed(2)} s`)
      discard(tmp)
    }
  }
  for (const tool of order) {
    discard(ctx[tool].home)
    if (REMOTE) rmSync(ctx[tool].repo, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- report

const ROWS = [
  { key: 'first', label: 'first save', kind: 'time', target: { vs: 'restic', max: 0.7 } },
  { key: 'unchanged', label: 'unchanged second save', kind: 'time', target: { vs: 'restic', max: 0.5 } },
  { key: 'changed', label: 'save after change', kind: 'time' },
  { key: 'stream', label: 'restore: tar stream > /dev/null ¹', kind: 'time', target: { vs: 'restic', max: 0.5 } },
  { key: 'extract', label: 'restore: extract into empty dir ²', kind: 'time' },
  // tarshift only; its ratios are to the other tools' own extraction (²).
  { key: 'extractBig', label: 'restore: extract, `tar -b 2048` ³', kind: 'time', vsKey: 'extract' },
  { key: 'sizeFirst', label: 'repository size after first save', kind: 'bytes', target: { vs: 'restic', max: 1.0 } },
  { key: 'sizeFirstFiles', label: '  … of which file contents (no directory entries)', kind: 'bytes' },
  { key: 'sizeAll', label: 'repository size after 3 saves', kind: 'bytes' },
  { key: 'rssFirst', label: 'peak RSS, first save', kind: 'bytes', target: { vs: 'restic', max: 1.0 } },
  { key: 'rssUnchanged', label: 'peak RSS, unchanged save', kind: 'bytes' },
  { key: 'rssStream', label: 'peak RSS, restore to tar stream', kind: 'bytes' },
  { key: 'cacheSize', label: 'local cache after 3 saves (not in repo size)', kind: 'bytes' },
]

function fmtNum(x, digits) {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function cell(c, row, tool, info) {
  const v = results[c]?.[row.key]?.[tool]
  if (!v || v.length === 0) return '–'
  const m = median(v)
  if (row.kind === 'bytes') return `${fmtNum(m / 1e6, m >= 1e8 ? 0 : 1)} MB`
  const t = `${fmtNum(m, m < 10 ? 2 : 1)} s`
  if (row.key === 'unchanged' || row.key === 'changed' || c !== 'B') {
    if (c !== 'B') return `${t} · ${fmtNum(info.entries / m, 0)} files/s`
    return `${t} · ${fmtNum(info.bytes / 1e6 / m, 0)} MB/s`
  }
  return `${t} · ${fmtNum(info.bytes / 1e6 / m, 0)} MB/s`
}

/** Median of the per-run ratios: the tools of one run ran minutes apart, under about the same
 *  load, so pairing them within a run cancels much of the machine's noise. */
function ratio(c, row, other) {
  const pr = pairedRatios(c, row, other)
  return pr.length ? median(pr) : null
}

function pairedRatios(c, row, other) {
  const a = results[c]?.[row.key]?.tarshift ?? []
  const b = results[c]?.[row.vsKey ?? row.key]?.[other] ?? []
  const out = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (b[i] > 0) out.push(a[i] / b[i])
  return out
}

function targetCell(c, row, info) {
  const parts = []
  if (row.target) {
    const r = ratio(c, row, row.target.vs)
    if (r !== null) parts.push(`≤ ${row.target.max.toFixed(1)} × ${row.target.vs}: ${r <= row.target.max ? 'met' : '**missed**'}`)
  }
  if (c === 'B' && row.key === 'first' && results.B?.first?.tarshift?.length) {
    const mbs = info.bytes / 1e6 / median(results.B.first.tarshift)
    const best = info.bytes / 1e6 / Math.min(...results.B.first.tarshift)
    parts.push(`≥ 300 MB/s: ${mbs >= 300 ? 'met' : '**missed**'} (best run ${best.toFixed(0)} MB/s)`)
  }
  // The save's own memory target (issue #3): any tree whose largest directory has < 100,000 entries.
  if ((row.key === 'rssFirst' || row.key === 'rssUnchanged') && results[c]?.[row.key]?.tarshift?.length) {
    const worst = Math.max(...results[c][row.key].tarshift)
    parts.push(`tarshift < 300 MB in every run: ${worst < 300e6 ? 'met' : '**missed**'} (highest ${(worst / 1e6).toFixed(0)} MB)`)
  }
  return parts.join('; ')
}

function spread(c, row, tool) {
  const v = results[c]?.[row.key]?.[tool]
  if (!v?.length) return '–'
  const lo = Math.min(...v)
  const hi = Math.max(...v)
  if (row.kind === 'bytes') return `${(lo / 1e6).toFixed(1)}–${(hi / 1e6).toFixed(1)}`
  return `${lo.toFixed(2)}–${hi.toFixed(2)}`
}

function table(c, info) {
  const lines = []
  const head = ['measurement', ...TOOLS]
  if (TOOLS.includes('tarshift') && TOOLS.includes('restic')) head.push('tarshift / restic')
  if (TOOLS.includes('tarshift') && TOOLS.includes('borg')) head.push('tarshift / borg')
  head.push('target (issue)')
  lines.push(`| ${head.join(' | ')} |`)
  lines.push(`|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
  for (const row of ROWS) {
    const rowLabel = row.key === 'changed' ? `save after change (${c !== 'B' ? '1% of files' : '4 MiB in one file'})` : row.label
    const cells = [rowLabel, ...TOOLS.map(t => cell(c, row, t, info))]
    for (const other of ['restic', 'borg']) {
      if (!(TOOLS.includes('tarshift') && TOOLS.includes(other))) continue
      const r = ratio(c, row, other)
      cells.push(r === null ? '–' : r.toFixed(2))
    }
    cells.push(targetCell(c, row, info))
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

function spreadTable(c) {
  const others = TOOLS.includes('tarshift') ? ['restic', 'borg'].filter(t => TOOLS.includes(t)) : []
  const head = ['measurement (min–max over runs, s or MB)', ...TOOLS, ...others.map(o => `tarshift / ${o}, run by run`)]
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`]
  for (const row of ROWS) {
    const cells = [row.label, ...TOOLS.map(t => spread(c, row, t)), ...others.map(o => pairedRatios(c, row, o).map(x => x.toFixed(2)).join(', ') || '–')]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  if (loads[c]?.length) lines.push('', `Load average (1 min) at the start of each run: ${loads[c].map(x => x.toFixed(1)).join(', ')}.`)
  return lines.join('\n')
}

function versions() {
  const v = {}
  v.node = process.version
  v.tarshift = sh(`${q(TARSHIFT)} --version`, { allowFail: true })
  const snapFile = f => (existsSync(join(SNAP, f)) ? readFileSync(join(SNAP, f), 'utf8').trim() : null)
  v.commit = snapFile('commit') ?? sh(`git -C ${q(ROOT)} rev-parse --short HEAD`, { allowFail: true })
  v.dirty = (snapFile('dirty') ?? sh(`git -C ${q(ROOT)} status --porcelain -- lib | wc -l`, { allowFail: true })) !== '0'
  if (TOOLS.includes('restic')) v.restic = sh('restic version', { allowFail: true })
  if (TOOLS.includes('borg')) v.borg = sh('borg --version', { allowFail: true })
  v.tar = sh('tar --version | head -1', { allowFail: true })
  return v
}

function machine() {
  return {
    nproc: Number(sh('nproc')),
    cpu: cpus()[0]?.model ?? 'unknown',
    ramGiB: totalmem() / 1024 ** 3,
    kernel: sh('uname -r'),
    fs: sh(`df -T ${q(WORK)} | awk 'NR==2 {print $2}'`, { allowFail: true }),
    repoFs: REMOTE ? sh(`df -T ${q(REPO_ROOT)} | awk 'NR==2 {print $2}'`, { allowFail: true }) : null,
  }
}

function report(meta) {
  const out = []
  const { m, v, infos, started, finished, loadStart, loadEnd } = meta
  out.push(`Measured ${started.slice(0, 10)} (${started.slice(11, 16)}–${finished.slice(11, 16)} UTC) by \`make bench\` (\`benchmarks/compare.sh\`)${QUICK ? ', **BENCH_QUICK=1 (small corpora)**' : ''}, median of ${RUNS} run${RUNS > 1 ? 's' : ''}. The ratio columns are the median of the per-run ratios (each run measures the three tools back to back, in an order rotated from run to run), which cancels much of the load changes between runs; the cells are the medians of the times.`)
  out.push('')
  out.push(`- Machine: ${m.nproc} cores (${m.cpu}), ${m.ramGiB.toFixed(0)} GiB RAM, Linux ${m.kernel}, ${REMOTE ? `corpora and local caches on ${m.fs}, **repositories on ${m.repoFs ?? 'sshfs'}**: a directory of the same disk served by sshd on 127.0.0.1 (\`scripts/sshfs-setup.sh\`) and mounted with sshfs's defaults; the page cache dropped before each command is the client's and the server's (one machine), and sshd and sshfs share the 2 cores with the tools` : `repositories and corpora on ${m.fs}`}. Shared with other engineers running test suites: load average ${loadStart.map(x => x.toFixed(1)).join(' ')} at the start, ${loadEnd.map(x => x.toFixed(1)).join(' ')} at the end. The numbers are noisy; compare the tools within this table, not across days.`)
  out.push(`- Versions: Node ${v.node}; ${v.tarshift} (commit ${v.commit}${v.dirty ? ', with uncommitted lib/ changes in the working tree' : ''}); ${v.restic ?? 'restic not run'}; ${v.borg ?? 'borg not run'}; ${v.tar}.`)
  out.push(`- Page cache: ${COLD ? '**cold** — `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed command, so saves read the corpus from disk and restores read the repository from disk' : '**warm** — the page cache could not be dropped (or BENCH_CACHE=warm); the corpus was read once before the saves, and restores read a repository that was just written'}.`)
  out.push('- Settings: tarshift defaults (zstd level 3, FastCDC 128 KiB / 512 KiB / 2 MiB). restic: repository format 2, default compression `auto` (zstd "fastest"), chunker 512 KiB / 1 MiB / 8 MiB, **always encrypted** (AES-256-CTR + Poly1305, `RESTIC_PASSWORD` fixed) — restic has no unencrypted mode, so it pays for encryption and MACs the others do not. borg: `borg init -e none`, `borg create --compression zstd,3`, default chunker (buzhash 512 KiB / 2 MiB / 8 MiB). Each tool has its own empty local cache per run (`XDG_CACHE_HOME`, `RESTIC_CACHE_DIR`, `BORG_BASE_DIR`); the cache is not counted in the repository size.')
  out.push('- Sizes are `du -sb` of the repository (apparent sizes, cache excluded; directory entries count too: tarshift’s 256 fan-out directories are 1 MB — the "of which file contents" row leaves them out). Peak RSS is `/usr/bin/time -f %M` (the largest single process: tarshift counts its worker threads, borg is one process). MB = 10^6 bytes, MB/s = corpus bytes / seconds, files/s = corpus entries (files, directories, links) / seconds.')
  out.push('- ¹ tarshift: `tarshift restore latest > /dev/null`; restic: `restic dump latest /path/to/corpus > /dev/null`; borg: `borg export-tar repo::archive - > /dev/null`. ² tarshift: `tarshift restore latest | tar -xf - -C tmp`; restic: `restic restore latest --target tmp`; borg: `borg extract` in tmp. ³ tarshift only: `tarshift restore latest | tar -b 2048 -xf - -C tmp` (1 MiB records instead of GNU tar\'s 10 KiB), against the others\' extraction (²). Restores restore the third (latest) snapshot.')
  out.push('')
  for (const c of CORPORA) {
    const info = infos[c]
    if (!info) continue
    out.push(`### ${corpora[c].label}`)
    out.push('')
    out.push(`${fmtNum(info.entries, 0)} entries, ${fmtNum(info.files, 0)} regular files, ${fmtNum(info.bytes / 1e6, 0)} MB. Change before the third save: ${changeNotes[c] ?? '–'}.`)
    const ex = extra[c]?.[0]
    if (ex) out.push(`tarshift's first save stored ${fmtNum(ex.objectsNew, 0)} new objects, ${fmtNum(ex.bytesNew / 1e6, 0)} MB.`)
    out.push('')
    out.push(table(c, info))
    out.push('')
  }
  return out.join('\n')
}

function spreads(infos) {
  const out = []
  for (const c of CORPORA) {
    if (!infos[c]) continue
    out.push(`#### ${corpora[c].label}: spread`)
    out.push('')
    out.push(spreadTable(c))
    out.push('')
  }
  return out.join('\n')
}

const TARGETS_TEXT = `Targets (from the issue): first save ≤ 0.7 × restic; unchanged save ≤ 0.5 × restic; restore
(tar stream) ≤ 0.5 × restic dump; savedir size ≤ 1.0 × restic; peak RSS ≤ restic; large files
≥ 300 MB/s on the first save (issue #7); tarshift's peak RSS under 300 MB for any tree whose
largest directory has fewer than 100,000 entries (issue #3; corpus C is one directory of 99,999
files). The last column says whether the median met them (the RSS target: every run).`

function writeDoc(body, spreadBody) {
  const docPath = join(ROOT, 'doc', 'performance.md')
  const doc = readFileSync(docPath, 'utf8')
  const section = `${SECTION}\n\n${REMOTE ? '`make bench-sshfs` (`BENCH_SAVEDIR=sshfs bash benchmarks/compare.sh`): the same benchmark with every repository on an sshfs mount. The issue\'s targets are for the local benchmark above; the last column applies them here for comparison only. ' : ''}\`make bench\` (\`bash benchmarks/compare.sh\`; \`BENCH_RUNS=N\`, \`BENCH_QUICK=1\` for a small trial, see the\nscript's header). ${TARGETS_TEXT}\n\n${body}\nRun-to-run spread (min–max of the ${RUNS} runs):\n\n${spreadBody}`
  const parts = doc.split(/^(?=## )/m)
  const i = parts.findIndex(p => p.split('\n', 1)[0] === SECTION)
  if (i >= 0) parts[i] = section.trimEnd() + '\n\n'
  else {
    const j = parts.findIndex(p => p.startsWith('## Where the time goes'))
    if (j >= 0) parts.splice(j, 0, section.trimEnd() + '\n\n')
    else parts.push((parts[parts.length - 1].endsWith('\n\n') ? '' : '\n') + section.trimEnd() + '\n')
  }
  writeFileSync(docPath, parts.join('').replace(/\n{3,}/g, '\n\n'))
  log(`wrote ${docPath}`)
}

// ---------------------------------------------------------------- main

if (saved) {
  RUNS = saved.runs
  const body = report(saved.meta)
  const spreadBody = spreads(saved.meta.infos)
  console.log(`\n${TARGETS_TEXT}\n\n${body}\n${spreadBody}`)
  if (process.env.BENCH_DOC === '1') writeDoc(body, spreadBody)
  process.exit(0)
}
mkdirSync(join(WORK, 'repos'), { recursive: true })
undoChange() // an interrupted earlier run
const infos = {}
for (const c of CORPORA) {
  if (!corpora[c]) throw new Error(`unknown corpus in BENCH_CORPORA: ${c}`)
  if (!existsSync(join(WORK, `corpus-${c.toLowerCase()}.done`))) throw new Error(`corpus ${c} is missing: run benchmarks/compare.sh, which builds it`)
  infos[c] = corpusInfo(corpora[c].dir)
}
const started = new Date().toISOString()
const loadStart = loadavg()
log(`mode ${MODE}, ${RUNS} run(s), tools ${TOOLS.join(',')}, corpora ${CORPORA.join(',')}, page cache ${COLD ? 'cold (dropped before each timed command)' : 'warm'}`)
let stop = false
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stop = true; log(`${sig}: stopping after this step`) })
let runsDone = 0
try {
  for (runIndex = 0; runIndex < RUNS && !stop; runIndex++) {
    for (const c of CORPORA) {
      if (stop) break
      benchCorpus(corpora[c], runIndex)
    }
    if (!stop) runsDone++
  }
} finally {
  undoChange()
  rmSync(join(WORK, 'repos'), { recursive: true, force: true })
  rmSync(TRASH, { recursive: true, force: true })
}
RUNS = runsDone
const finished = new Date().toISOString()
const meta = { m: machine(), v: versions(), infos, started, finished, loadStart, loadEnd: loadavg() }
const body = report(meta)
const spreadBody = spreads(infos)
console.log(`\n${TARGETS_TEXT}\n\n${body}\n${spreadBody}`)
const stamp = started.replace(/[:.]/g, '-')
const rawFile = join(WORK, `results-${REMOTE ? 'sshfs-' : ''}${stamp}.json`)
writeFileSync(rawFile, JSON.stringify({ repoRoot: REPO_ROOT, meta, results, extra, loads, changeNotes, cold: COLD, runs: RUNS, quick: QUICK, tools: TOOLS, corpora: CORPORA }, null, 1))
log(`raw results: ${rawFile} (re-render: node benchmarks/compare.mjs --report ${rawFile})`)
if (WRITE_DOC && RUNS > 0) writeDoc(body, spreadBody)
