// Map syscalls on raw fds. Keys and values are caller-owned Buffers of the
// exact size the TS layer computed from the map's info; nothing is allocated here.
#include <bpf/bpf.h>
#include <errno.h>

#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

// get/set/delete are the calls a control plane makes one at a time, so they
// use raw N-API: one query per argument and no wrapper objects. The kernel's
// own syscall costs ~1.3 us here; these keep the JS side well under that.
struct FastArgs {
  int fd = -1;
  void* key = nullptr;
  void* value = nullptr;
  int64_t flags = 0;
};

static void* FastBuffer(napi_env env, napi_value v, bool optional) {
  napi_valuetype t;
  if (optional && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) return nullptr;
  void* data = nullptr;
  size_t len = 0;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok) {
    throw Napi::TypeError::New(env, "expected a Buffer");
  }
  return data;
}

// (fd, key|null, value?, flags?)
static FastArgs ParseFast(napi_env env, napi_callback_info cbinfo, size_t want) {
  napi_value argv[4];
  size_t argc = 4;
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
  if (argc < want) throw Napi::TypeError::New(env, "too few arguments");
  FastArgs a;
  if (napi_get_value_int32(env, argv[0], &a.fd) != napi_ok) throw Napi::TypeError::New(env, "fd must be a number");
  a.key = FastBuffer(env, argv[1], true);
  if (want > 2) a.value = FastBuffer(env, argv[2], false);
  if (want > 3 && napi_get_value_int64(env, argv[3], &a.flags) != napi_ok) throw Napi::TypeError::New(env, "flags must be a number");
  return a;
}

static napi_value Bool(napi_env env, bool b) {
  napi_value r;
  napi_get_boolean(env, b, &r);
  return r;
}

static napi_value MapLookup(napi_env env, napi_callback_info cbinfo) {
  try {
    FastArgs a = ParseFast(env, cbinfo, 4);
    int ret = bpf_map_lookup_elem_flags(a.fd, a.key, a.value, a.flags);
    if (ret == -ENOENT) return Bool(env, false);
    CheckRet(env, "map lookup", ret);
    return Bool(env, true);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

static napi_value MapUpdate(napi_env env, napi_callback_info cbinfo) {
  try {
    FastArgs a = ParseFast(env, cbinfo, 4);
    CheckRet(env, "map update", bpf_map_update_elem(a.fd, a.key, a.value, a.flags));
    return nullptr;
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

static napi_value MapDelete(napi_env env, napi_callback_info cbinfo) {
  try {
    FastArgs a = ParseFast(env, cbinfo, 2);
    int ret = bpf_map_delete_elem(a.fd, a.key);
    if (ret == -ENOENT) return Bool(env, false);
    CheckRet(env, "map delete", ret);
    return Bool(env, true);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

static void SetRaw(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  exports.Set(name, Napi::Value(env, fn));
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
  SetRaw(env, exports, "mapLookup", MapLookup);
  SetRaw(env, exports, "mapUpdate", MapUpdate);
  SetRaw(env, exports, "mapDelete", MapDelete);
  exports.Set("mapLookupAndDelete", Napi::Function::New(env, MapLookupAndDelete));
  exports.Set("mapGetNextKey", Napi::Function::New(env, MapGetNextKey));
  exports.Set("mapLookupBatch", Napi::Function::New(env, MapLookupBatch));
  exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
  exports.Set("mapDeleteBatch", Napi::Function::New(env, MapDeleteBatch));
  exports.Set("mapCreate", Napi::Function::New(env, MapCreate));
  exports.Set("mapFreeze", Napi::Function::New(env, MapFreeze));
}

}  // namespace xvtep
