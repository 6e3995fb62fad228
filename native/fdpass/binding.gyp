{
  "targets": [
    {
      "target_name": "qmpkit_fdpass",
      "sources": ["fdpass.c", "fdreader.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
