{
  "targets": [
    {
      "target_name": "ctnetlink",
      "sources": [
        "native/src/addon.cc",
        "native/src/codec.cc",
        "native/src/dgram.cc",
        "native/src/memory.cc",
        "native/src/socket.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lmnl"]
    }
  ]
}
