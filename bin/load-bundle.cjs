// Loads the CLI's bundle (dist/lib/bundle/main.cjs, scripts/bundle.mjs) with V8's code cache:
// the bytecode of the functions a command ran, saved at build time (scripts/code-cache.mjs),
// so that a short command compiles next to nothing (doc/performance.md, session 20). Node 20
// keeps no such cache for modules of its own (node 22's module.enableCompileCache does).
//
// One cache per set of V8 flags, since V8 refuses a cache made under other flags: `save` runs
// with the interpreter line's interrupt budget, every other command with V8's
// (bin/tarshift). V8 itself checks only the source's length; the cache file also carries the
// CRC-32 of the bundle it was made from, and a cache of any other bundle is not used (a
// rebuild without the cache step, a hand edit), nor one whose own CRC-32 is wrong: V8 does
// not check its caches' contents (--verify-snapshot-checksum is off), and a damaged one can
// crash the process or run other code than the bundle's (as Node's own compile cache, which
// keeps a CRC-32 of each cache for the same reason). A cache not used, or none, costs nothing
// but the compiling.
//
//   cache file: u32 LE CRC-32 of the bundle's source (UTF-8), u32 LE its length in bytes,
//               u32 LE CRC-32 of what follows: V8's cached data (vm.Script#createCachedData)
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const Module = require('node:module')
const zlib = require('node:zlib')

const HEADER = 12

/** The cache file of `kind` ('save' or 'other') for `bundle`. */
function cacheFile(bundle, kind) {
  return `${bundle}.${kind}.cache`
}

/**
 * The bundle's module.exports. TARSHIFT_CODE_CACHE=write: the cache is written at exit (the
 * build); =report: a line on stderr says whether a cache was used, refused by V8, stale (of
 * another bundle), damaged or missing (tests, measurements).
 */
function loadBundle(bundle, kind) {
  const bytes = fs.readFileSync(bundle)
  // zlib.crc32 came with Node 20.15: before it, no cache is used (nor written).
  const crc = typeof zlib.crc32 === 'function' ? zlib.crc32(bytes) : null
  const file = cacheFile(bundle, kind)
  let cachedData
  let status = 'none'
  if (crc !== null) {
    try {
      const c = fs.readFileSync(file)
      const data = c.subarray(HEADER)
      if (c.length <= HEADER || c.readUInt32LE(0) !== crc || c.readUInt32LE(4) !== bytes.length) status = 'stale'
      else if (zlib.crc32(data) !== c.readUInt32LE(8)) status = 'damaged'
      else cachedData = data
    } catch {
      // no cache: compile
    }
  }
  const script = new vm.Script(Module.wrap(bytes.toString('utf8')), { filename: bundle, cachedData })
  if (process.env.TARSHIFT_CODE_CACHE === 'write' && crc !== null) {
    process.on('exit', () => {
      // The memory trimming sets --expose-gc to get V8's gc() (lib/fs/memory-trim.ts), and a
      // flag set changes the hash V8 writes into the cache.
      require('node:v8').setFlagsFromString('--no-expose-gc')
      const data = script.createCachedData()
      const head = Buffer.alloc(HEADER)
      head.writeUInt32LE(crc, 0)
      head.writeUInt32LE(bytes.length, 4)
      head.writeUInt32LE(zlib.crc32(data), 8)
      // Whole or not at all: a cache cut short by a crash is a damaged one (refused, but slower).
      const tmp = `${file}.${process.pid}.tmp`
      fs.writeFileSync(tmp, Buffer.concat([head, data]))
      fs.renameSync(tmp, file)
    })
  } else if (process.env.TARSHIFT_CODE_CACHE === 'report') {
    if (cachedData !== undefined) status = script.cachedDataRejected ? 'refused' : 'used'
    process.stderr.write(`tarshift: code cache ${status}\n`)
  }
  const module = { exports: {} }
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle))
  return module.exports
}

module.exports = { loadBundle, cacheFile }
