{
  "targets": [
    {
      "target_name": "tarshift_fs",
      "sources": ["native/tarshift-fs.c", "native/read-ahead.c", "native/objects-exist.c", "native/put-objects.c", "native/get-objects.c", "native/object-files.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-lzstd"]
    }
  ]
}
