{
  "targets": [
    {
      "target_name": "tarshift_fs",
      "sources": ["native/tarshift-fs.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
