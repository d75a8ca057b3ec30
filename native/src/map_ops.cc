// Map syscalls on raw fds. Keys and values are caller-owned Buffers of the
// exact size the TS layer computed from the map's info; nothing is allocated here.
#include <bpf/bpf.h>
#include <errno.h>

#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

static Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes key = ArgBytes(info, 1, true);
  Bytes value = ArgBytes(info, 2);
  uint64_t flags = ArgU64(info, 3);
  int ret = bpf_map_lookup_elem_flags(fd, key.data, value.data, flags);
  if (ret == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  CheckRet(info.Env(), "map lookup", ret);
  return Napi::Boolean::New(info.Env(), true);
}

static Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes key = ArgBytes(info, 1, true);
  Bytes value = ArgBytes(info, 2);
  uint64_t flags = ArgU64(info, 3);
  CheckRet(info.Env(), "map update", bpf_map_update_elem(fd, key.data, value.data, flags));
  return info.Env().Undefined();
}

static Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes key = ArgBytes(info, 1);
  int ret = bpf_map_delete_elem(fd, key.data);
  if (ret == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  CheckRet(info.Env(), "map delete", ret);
  return Napi::Boolean::New(info.Env(), true);
}

static Napi::Value MapLookupAndDelete(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes key = ArgBytes(info, 1, true);
  Bytes value = ArgBytes(info, 2);
  int ret = bpf_map_lookup_and_delete_elem(fd, key.data, value.data);
  if (ret == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  CheckRet(info.Env(), "map lookup and delete", ret);
  return Napi::Boolean::New(info.Env(), true);
}

static Napi::Value MapGetNextKey(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes key = ArgBytes(info, 1, true);
  Bytes next = ArgBytes(info, 2);
  int ret = bpf_map_get_next_key(fd, key.data, next.data);
  if (ret == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  CheckRet(info.Env(), "map get next key", ret);
  return Napi::Boolean::New(info.Env(), true);
}

// (fd, inToken|null, outToken, keys, values, count, elemFlags, deleteToo)
// -> { count, done }. ENOENT means the walk reached the end; the entries
// returned with it are still valid.
static Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  Bytes in = ArgBytes(info, 1, true);
  Bytes out = ArgBytes(info, 2);
  Bytes keys = ArgBytes(info, 3);
  Bytes values = ArgBytes(info, 4);
  uint32_t count = ArgU32(info, 5);
  uint64_t elem_flags = ArgU64(info, 6);
  bool del = info[7].ToBoolean();
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags);
  int ret = del ? bpf_map_lookup_and_delete_batch(fd, in.data, out.data, keys.data, values.data, &count, &opts)
                : bpf_map_lookup_batch(fd, in.data, out.data, keys.data, values.data, &count, &opts);
  bool done = false;
  if (ret == -ENOENT) {
    done = true;
  } else {
    CheckRet(env, del ? "map lookup and delete batch" : "map lookup batch", ret);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("count", Napi::Number::New(env, count));
  r.Set("done", Napi::Boolean::New(env, done));
  return r;
}

static Napi::Value MapUpdateBatch(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes keys = ArgBytes(info, 1);
  Bytes values = ArgBytes(info, 2);
  uint32_t count = ArgU32(info, 3);
  uint64_t elem_flags = ArgU64(info, 4);
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags);
  int ret = bpf_map_update_batch(fd, keys.data, values.data, &count, &opts);
  if (ret < 0) {
    Napi::Error e = ErrnoError(info.Env(), "map update batch", -ret);
    e.Set("done", Napi::Number::New(info.Env(), count));
    throw e;
  }
  return Napi::Number::New(info.Env(), count);
}

static Napi::Value MapDeleteBatch(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes keys = ArgBytes(info, 1);
  uint32_t count = ArgU32(info, 2);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int ret = bpf_map_delete_batch(fd, keys.data, &count, &opts);
  if (ret < 0) {
    Napi::Error e = ErrnoError(info.Env(), "map delete batch", -ret);
    e.Set("done", Napi::Number::New(info.Env(), count));
    throw e;
  }
  return Napi::Number::New(info.Env(), count);
}

// (type, name, keySize, valueSize, maxEntries, mapFlags, innerMapFd) -> fd
static Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  int type = ArgInt(info, 0);
  std::string name = ArgString(info, 1);
  uint32_t key_size = ArgU32(info, 2);
  uint32_t value_size = ArgU32(info, 3);
  uint32_t max_entries = ArgU32(info, 4);
  uint32_t flags = ArgU32(info, 5);
  int inner = ArgInt(info, 6);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  if (inner >= 0) opts.inner_map_fd = inner;
  int fd = bpf_map_create((enum bpf_map_type)type, name.empty() ? nullptr : name.c_str(), key_size, value_size,
                          max_entries, &opts);
  return Napi::Number::New(info.Env(), CheckRet(info.Env(), "map create", fd));
}

static Napi::Value MapFreeze(const Napi::CallbackInfo& info) {
  CheckRet(info.Env(), "map freeze", bpf_map_freeze(ArgInt(info, 0)));
  return info.Env().Undefined();
}

void InitMapOps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapLookupAndDelete", Napi::Function::New(env, MapLookupAndDelete));
  exports.Set("mapGetNextKey", Napi::Function::New(env, MapGetNextKey));
  exports.Set("mapLookupBatch", Napi::Function::New(env, MapLookupBatch));
  exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
  exports.Set("mapDeleteBatch", Napi::Function::New(env, MapDeleteBatch));
  exports.Set("mapCreate", Napi::Function::New(env, MapCreate));
  exports.Set("mapFreeze", Napi::Function::New(env, MapFreeze));
}

}  // namespace xvtep
