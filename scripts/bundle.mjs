// Bundles the CLI and the store worker, each into one file, for bin/tarshift: dist/lib/bundle/
// main.cjs and dist/lib/bundle/store-worker.js (from tsc's output in dist/lib). Node's ESM
// loader resolves, reads, compiles and links each of the ~100 modules of a save on its own
// (each read a disk seek when the page cache is cold); one file each cut an unchanged save of a
// few large files from 0.35 to 0.29 s warm and 0.47 to 0.39 s cold (doc/performance.md).
// Packages with native parts stay external, loaded from node_modules as before: zstd-napi and
// lzma-native find their native binaries from their own directories. msgpackr, plain
// JavaScript and loaded by every save and restore, goes into the bundles too (INLINED).
// The bundles sit at the same depth as the modules they replace (dist/lib/<dir>/), so that the
// paths the code builds from import.meta.url (the addon in build/Release, package.json,
// ./store-worker.js) resolve the same.
import { build } from 'esbuild'
import { rmSync } from 'node:fs'

/** Packages bundled in; every other bare import stays an import of node_modules. */
const INLINED = ['msgpackr']
const packagesOutside = {
  name: 'packages-outside',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, args => {
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]
      return INLINED.includes(name) ? undefined : { path: args.path, external: true }
    })
  },
}
const common = { bundle: true, platform: 'node', target: 'node20', plugins: [packagesOutside], logLevel: 'warning', legalComments: 'none' }
await Promise.all([
  // CommonJS, for bin/load-bundle.cjs: compiled through vm.Script with V8's code cache, which
  // Node 20 offers for scripts, not for ES modules. import.meta.url becomes the file's URL.
  build({
    ...common,
    format: 'cjs',
    entryPoints: ['dist/lib/cli/main.js'],
    outfile: 'dist/lib/bundle/main.cjs',
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: '"use strict";\nconst __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  }),
  // A worker loads it by URL, as an ES module.
  build({ ...common, format: 'esm', entryPoints: ['dist/lib/repo/store-worker.js'], outfile: 'dist/lib/bundle/store-worker.js' }),
])
rmSync('dist/lib/bundle/main.js', { force: true }) // the ES module bundle of builds before session 20
