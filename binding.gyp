{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["src/dns/udp-batch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
