// bin/load-bundle.cjs: the CLI's bundle runs with the V8 code cache made at build time, a cache
// is used only with the very bundle it was made from and the V8 flags it was made under, and
// without one (missing, stale, refused) the code runs the same.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { newSavedir, TARSHIFT_BIN } from '../helpers/cli.js'

const LOADER = fileURLToPath(new URL('../../../bin/load-bundle.cjs', import.meta.url))
const BUNDLE = fileURLToPath(new URL('../../../dist/lib/bundle/main.cjs', import.meta.url))
const { cacheFile } = createRequire(import.meta.url)(LOADER) as { cacheFile: (bundle: string, kind: string) => string }

/** Loads `bundle` through the loader in a child node (with `flags`); its stdout and stderr. */
function load(bundle: string, mode: 'write' | 'report', flags: string[] = []): { out: string; err: string } {
  const code = `const m = require(${JSON.stringify(LOADER)}).loadBundle(${JSON.stringify(bundle)}, 'k'); process.stdout.write(String(m.answer(20)))`
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, ...flags, '-e', code], { env: { ...process.env, TARSHIFT_CODE_CACHE: mode } })
  return { out: r.stdout.toString(), err: r.stderr.toString() }
}

t.test('a cache is used with its own bundle only, and under its own flags', async t => {
  const dir = tmpDirFor(t)
  const bundle = path.join(dir, 'b.cjs')
  const source = "'use strict'\nfunction fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }\nexports.answer = n => fib(n) + 1\n"
  fs.writeFileSync(bundle, source)
  t.same(load(bundle, 'report'), { out: '6766', err: 'tarshift: code cache none\n' }, 'no cache: compiled, the same answer')
  t.equal(load(bundle, 'write').out, '6766', 'the cache written at exit')
  const cache = fs.readFileSync(cacheFile(bundle, 'k'))
  t.equal(cache.readUInt32LE(4), Buffer.byteLength(source), 'its header has the bundle\'s length')
  t.same(load(bundle, 'report'), { out: '6766', err: 'tarshift: code cache used\n' }, 'then used')

  // The same length, another bundle: V8 alone would take the cache (it checks the length).
  fs.writeFileSync(bundle, source.replace('+ 1', '+ 2'))
  t.same(load(bundle, 'report'), { out: '6767', err: 'tarshift: code cache stale\n' }, 'another bundle of the same length: not used, its own code runs')

  fs.writeFileSync(bundle, source)
  t.same(load(bundle, 'report', ['--interrupt-budget=1000']), { out: '6766', err: 'tarshift: code cache refused\n' }, 'other V8 flags: V8 refuses it')
  // V8 checks no checksum of its own: a byte changed in the middle can crash it.
  const damaged = Buffer.from(cache)
  const mid = 12 + Math.floor((damaged.length - 12) / 2)
  damaged[mid] = (damaged[mid] as number) ^ 0xff
  fs.writeFileSync(cacheFile(bundle, 'k'), damaged)
  t.same(load(bundle, 'report'), { out: '6766', err: 'tarshift: code cache damaged\n' }, 'a byte changed in the cache: not used')
  fs.writeFileSync(cacheFile(bundle, 'k'), cache.subarray(0, cache.length - 1))
  t.same(load(bundle, 'report'), { out: '6766', err: 'tarshift: code cache damaged\n' }, 'a cache cut short: not used')
})

t.test('the build made caches that tarshift uses: save and every other command', async t => {
  for (const kind of ['save', 'other']) t.ok(fs.existsSync(cacheFile(BUNDLE, kind)), `${kind}: a cache next to the bundle`)
  const savedir = newSavedir(t)
  const src = path.join(tmpDirFor(t), 'src')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'f'), 'x')
  // bin/tarshift itself, with the flags of its interpreter line.
  const run = (args: string[]) => spawnSync('env', ['-u', 'NODE_OPTIONS', TARSHIFT_BIN, ...args], { env: { ...process.env, TARSHIFT_CODE_CACHE: 'report', XDG_CACHE_HOME: path.join(savedir, '..', 'cache') } })
  const save = run(['save', '-r', savedir, '--subset', 's', '--progress', 'none', src])
  t.equal(save.status, 0, 'save')
  t.match(save.stderr.toString(), /^tarshift: code cache used$/m, 'save: the cache used')
  const list = run(['list', '-r', savedir])
  t.equal(list.status, 0, 'list')
  t.match(list.stderr.toString(), /^tarshift: code cache used$/m, 'list: the cache used')
})
