// bin/remote-savedir.cjs: bin/tarshift gives a restore more threads when the savedir is not on a
// local disk's file system (tests/integration/sshfs.test.ts shows an sshfs mount found remote).
// Here: the savedir found from the command line as the CLI finds it; a local one is not remote.
import t from 'tap'
import { createRequire } from 'node:module'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { LOCAL_TYPES } from '../../lib/repo/savedir-fs-type.js'

const { remoteSavedir, LOCAL_TYPES: BIN_LOCAL_TYPES } = createRequire(import.meta.url)('../../../bin/remote-savedir.cjs') as { remoteSavedir: (args: string[], env: NodeJS.ProcessEnv) => boolean; LOCAL_TYPES: number[] }

t.test('the local file systems are those of lib/repo/savedir-fs-type.ts', async t => {
  t.same([...BIN_LOCAL_TYPES].sort(), [...LOCAL_TYPES].sort(), 'one list, kept in two places (bin/ runs before any module loads)')
})

t.test('a local savedir, however named, is not remote', async t => {
  const dir = tmpDirFor(t, 'tarshift-remote-')
  t.equal(remoteSavedir(['-r', dir, 'latest'], {}), false, '-r DIR')
  t.equal(remoteSavedir(['latest', '--savedir', dir], {}), false, '--savedir DIR')
  t.equal(remoteSavedir([`--savedir=${dir}`, 'latest'], {}), false, '--savedir=DIR')
  t.equal(remoteSavedir(['latest'], { TARSHIFT_SAVEDIR: dir }), false, '$TARSHIFT_SAVEDIR')
})

t.test('no savedir, or one that cannot be reached: false (nothing changes)', async t => {
  t.equal(remoteSavedir(['latest'], {}), false, 'none named')
  t.equal(remoteSavedir(['-r'], {}), false, '-r without its value')
  t.equal(remoteSavedir(['-r', '/nonexistent/tarshift'], {}), false, 'not there')
  t.equal(remoteSavedir(['--', '-r', '/proc'], {}), false, 'after --, not an option')
})

t.test("a file system that is not a local disk's: remote", async t => {
  // /proc (procfs) stands in for one here; the sshfs test shows a real mount.
  t.equal(remoteSavedir(['-r', '/proc', 'latest'], {}), true, 'procfs')
  t.equal(remoteSavedir(['-r', '/proc'], { TARSHIFT_SAVEDIR: '/tmp' }), true, '-r wins over $TARSHIFT_SAVEDIR')
  t.equal(remoteSavedir(['latest'], { TARSHIFT_SAVEDIR: '/proc' }), true, '$TARSHIFT_SAVEDIR')
})
