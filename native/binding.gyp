{
  "targets": [
    {
      "target_name": "xvtep_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/libbpf_log.cc",
        "src/map_ops.cc",
        "src/prog_ops.cc",
        "src/link_ops.cc",
        "src/tc_ops.cc",
        "src/sys_ops.cc",
        "src/probe_ops.cc",
        "src/objects/bpf_object.cc",
        "src/objects/ring_buffer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["<!@(pkg-config --libs libbpf)"],
      "cflags": ["<!@(pkg-config --cflags libbpf)"]
    }
  ]
}
