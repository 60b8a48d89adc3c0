// Whether the savedir a command line names is on a file system that is not a local disk's
// (NFS, sshfs and other FUSE, CIFS...): bin/tarshift gives a save there and a restore from there more threads.
// Run before any module of the CLI is loaded, so the savedir is found here as the CLI will find
// it: -r DIR, --savedir DIR or --savedir=DIR, else $TARSHIFT_SAVEDIR. False when it cannot be
// found or reached: only a performance setting depends on it.
'use strict'
const { statfsSync } = require('node:fs')

/** The local file systems of lib/repo/savedir-fs-type.ts (LOCAL_TYPES): ext2/3/4, xfs, btrfs, tmpfs, zfs, f2fs. */
const LOCAL_TYPES = [0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x2fc12fc1, 0xf2f52010]

/** @param {string[]} args the command's arguments (after its name) @param {NodeJS.ProcessEnv} env */
function remoteSavedir(args, env) {
  let dir = env.TARSHIFT_SAVEDIR
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--') break
    if ((a === '-r' || a === '--savedir') && i + 1 < args.length) dir = args[++i]
    else if (a.startsWith('--savedir=')) dir = a.slice('--savedir='.length)
  }
  if (!dir) return false
  try {
    return !LOCAL_TYPES.includes(statfsSync(dir).type)
  } catch {
    return false
  }
}

module.exports = { remoteSavedir, LOCAL_TYPES }
