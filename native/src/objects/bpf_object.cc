#include "bpf_object.h"

#include <bpf/btf.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../libbpf_log.h"
#include "../util.h"

namespace xvtep {

// The kernel keeps the tail of a log that does not fit; 16 MiB holds every
// failure log of programs this size. malloc leaves it untouched until used.
static const size_t kLogSize = 16 << 20;

Napi::Function BpfObject::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod("programs", &BpfObject::Programs),
                         InstanceMethod("maps", &BpfObject::Maps),
                         InstanceMethod("setRodata", &BpfObject::SetRodata),
                         InstanceMethod("setMaxEntries", &BpfObject::SetMaxEntries),
                         InstanceMethod("reuseFd", &BpfObject::ReuseFd),
                         InstanceMethod("setAutoload", &BpfObject::SetAutoload),
                         InstanceMethod("load", &BpfObject::Load),
                         InstanceMethod("loadSync", &BpfObject::LoadSync),
                         InstanceMethod("close", &BpfObject::Close),
                     });
}

// new BpfObject(pathOrBuffer, objectName?)
BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  std::string name = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  log_buf_ = static_cast<char*>(malloc(kLogSize));
  log_size_ = kLogSize;
  log_buf_[0] = 0;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name.empty() ? nullptr : name.c_str(),
              .kernel_log_buf = log_buf_, .kernel_log_size = log_size_, .kernel_log_level = 0);
  LibbpfLogBegin();
  std::string what;
  if (info[0].IsString()) {
    what = info[0].As<Napi::String>().Utf8Value();
    obj_ = bpf_object__open_file(what.c_str(), &opts);
  } else {
    Bytes b = ArgBytes(info, 0);
    elf_.assign(b.data, b.data + b.len);
    what = name.empty() ? "buffer" : name;
    obj_ = bpf_object__open_mem(elf_.data(), elf_.size(), &opts);
  }
  std::string log = LibbpfLogTake();
  long err = libbpf_get_error(obj_);
  if (err) {
    obj_ = nullptr;
    Napi::Error e = ErrnoError(env, "open " + what, (int)-err);
    e.Set("libbpfLog", Napi::String::New(env, log));
    throw e;
  }
}

BpfObject::~BpfObject() {
  if (obj_ && !loading_) bpf_object__close(obj_);
  free(log_buf_);
}

struct bpf_object* BpfObject::Obj(Napi::Env env) {
  if (!obj_) throw ErrnoError(env, "object is closed", EBADF);
  if (loading_) throw ErrnoError(env, "object is loading", EBUSY);
  return obj_;
}

struct bpf_map* BpfObject::FindMap(Napi::Env env, const std::string& name) {
  struct bpf_map* m = bpf_object__find_map_by_name(Obj(env), name.c_str());
  if (!m) throw ErrnoError(env, "map " + name, ENOENT);
  return m;
}

struct bpf_program* BpfObject::FindProg(Napi::Env env, const std::string& name) {
  struct bpf_program* p = bpf_object__find_program_by_name(Obj(env), name.c_str());
  if (!p) throw ErrnoError(env, "program " + name, ENOENT);
  return p;
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = Napi::Array::New(env);
  struct bpf_program* p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, Obj(env)) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    o.Set("type", Napi::Number::New(env, bpf_program__type(p)));
    o.Set("expectedAttachType", Napi::Number::New(env, bpf_program__expected_attach_type(p)));
    o.Set("autoload", Napi::Boolean::New(env, bpf_program__autoload(p)));
    o.Set("fd", Napi::Number::New(env, loaded_ ? bpf_program__fd(p) : -1));
    arr.Set(i++, o);
  }
  return arr;
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = Napi::Array::New(env);
  struct bpf_map* m;
  uint32_t i = 0;
  bpf_object__for_each_map(m, Obj(env)) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_map__name(m));
    o.Set("type", Napi::Number::New(env, bpf_map__type(m)));
    o.Set("keySize", Napi::Number::New(env, bpf_map__key_size(m)));
    o.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(m)));
    o.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(m)));
    o.Set("flags", Napi::Number::New(env, bpf_map__map_flags(m)));
    o.Set("internal", Napi::Boolean::New(env, bpf_map__is_internal(m)));
    o.Set("fd", Napi::Number::New(env, bpf_map__fd(m)));
    arr.Set(i++, o);
  }
  return arr;
}

// (varName, Buffer): writes a `const volatile` global before load. Located
// through the object's BTF so a name that is not in .rodata, or a value of the
// wrong size, is an error instead of a silent write into a neighbour.
Napi::Value BpfObject::SetRodata(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string var = ArgString(info, 0);
  Bytes val = ArgBytes(info, 1);
  struct bpf_object* obj = Obj(env);
  if (loaded_) throw ErrnoError(env, "set rodata " + var + " after load", EBUSY);
  struct btf* btf = bpf_object__btf(obj);
  if (!btf) throw ErrnoError(env, "set rodata " + var + ": object has no BTF", ENOENT);
  int sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (sec_id < 0) throw ErrnoError(env, "set rodata " + var + ": object has no .rodata", ENOENT);
  const struct btf_type* sec = btf__type_by_id(btf, sec_id);
  const struct btf_var_secinfo* vsi = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
    const struct btf_type* v = btf__type_by_id(btf, vsi->type);
    if (var != btf__name_by_offset(btf, v->name_off)) continue;
    if (vsi->size != val.len)
      throw ErrnoError(env, "set rodata " + var + ": size " + std::to_string(val.len) + " != " + std::to_string(vsi->size), EINVAL);
    struct bpf_map* m;
    bpf_object__for_each_map(m, obj) {
      const char* n = bpf_map__name(m);
      size_t nl = strlen(n);
      if (!bpf_map__is_internal(m) || nl < 7 || strcmp(n + nl - 7, ".rodata") != 0) continue;
      size_t sz = 0;
      const uint8_t* cur = static_cast<const uint8_t*>(bpf_map__initial_value(m, &sz));
      if (!cur || vsi->offset + vsi->size > sz) break;
      std::vector<uint8_t> image(cur, cur + sz);
      memcpy(image.data() + vsi->offset, val.data, val.len);
      CheckRet(env, "set rodata " + var, bpf_map__set_initial_value(m, image.data(), image.size()));
      return env.Undefined();
    }
    throw ErrnoError(env, "set rodata " + var + ": .rodata map not found", ENOENT);
  }
  throw ErrnoError(env, "set rodata " + var + ": no such variable", ENOENT);
}

Napi::Value BpfObject::SetMaxEntries(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  CheckRet(info.Env(), "set max entries of " + name, bpf_map__set_max_entries(FindMap(info.Env(), name), ArgU32(info, 1)));
  return info.Env().Undefined();
}

Napi::Value BpfObject::ReuseFd(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  CheckRet(info.Env(), "reuse fd for map " + name, bpf_map__reuse_fd(FindMap(info.Env(), name), ArgInt(info, 1)));
  return info.Env().Undefined();
}

Napi::Value BpfObject::SetAutoload(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  CheckRet(info.Env(), "set autoload of " + name, bpf_program__set_autoload(FindProg(info.Env(), name), info[1].ToBoolean()));
  return info.Env().Undefined();
}

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, BpfObject* self, Napi::Object js_self)
      : Napi::AsyncWorker(env), self_(self), deferred_(Napi::Promise::Deferred::New(env)) {
    ref_ = Napi::Persistent(js_self);  // keeps the object alive while the kernel verifies
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    self_->log_buf_[0] = 0;
    LibbpfLogBegin();
    err_ = bpf_object__load(self_->obj_);
    libbpf_log_ = LibbpfLogTake();
  }

  void OnOK() override {
    Napi::Env env = Env();
    self_->loading_ = false;
    if (err_ == 0) {
      self_->loaded_ = true;
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error e = ErrnoError(env, "load", -err_);
    e.Set("log", Napi::String::New(env, self_->log_buf_));
    e.Set("libbpfLog", Napi::String::New(env, libbpf_log_));
    deferred_.Reject(e.Value());
  }

 private:
  BpfObject* self_;
  Napi::ObjectReference ref_;
  Napi::Promise::Deferred deferred_;
  int err_ = 0;
  std::string libbpf_log_;
};

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Obj(env);
  if (loaded_) throw ErrnoError(env, "object already loaded", EALREADY);
  loading_ = true;
  auto* w = new LoadWorker(env, this, info.This().As<Napi::Object>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// load() on the calling thread: for a program loaded on demand in the
// middle of a synchronous apply (Datapath.program). Same errors as load().
Napi::Value BpfObject::LoadSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Obj(env);
  if (loaded_ || loading_) throw ErrnoError(env, "object already loaded", EALREADY);
  log_buf_[0] = 0;
  LibbpfLogBegin();
  int err = bpf_object__load(obj_);
  std::string libbpf_log = LibbpfLogTake();
  if (err == 0) {
    loaded_ = true;
    return env.Undefined();
  }
  Napi::Error e = ErrnoError(env, "load", -err);
  e.Set("log", Napi::String::New(env, log_buf_));
  e.Set("libbpfLog", Napi::String::New(env, libbpf_log));
  throw e;
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  if (loading_) throw ErrnoError(info.Env(), "close while loading", EBUSY);
  if (obj_) bpf_object__close(obj_);
  obj_ = nullptr;
  return info.Env().Undefined();
}

}  // namespace xvtep
