// Netlink TC (clsact + cls_bpf direct-action) through libbpf's bpf_tc_* API:
// the attach path for kernels without tcx (< 6.6).
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>

#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

static Napi::Value TcHookCreate(const Napi::CallbackInfo& info) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ArgInt(info, 0), .attach_point = (enum bpf_tc_attach_point)ArgInt(info, 1));
  int ret = bpf_tc_hook_create(&hook);
  if (ret == -EEXIST) return Napi::Boolean::New(info.Env(), false);
  CheckRet(info.Env(), "tc hook create", ret);
  return Napi::Boolean::New(info.Env(), true);
}

static Napi::Value TcHookDestroy(const Napi::CallbackInfo& info) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ArgInt(info, 0), .attach_point = (enum bpf_tc_attach_point)ArgInt(info, 1));
  CheckRet(info.Env(), "tc hook destroy", bpf_tc_hook_destroy(&hook));
  return info.Env().Undefined();
}

// (ifindex, attachPoint, progFd, handle, priority, replace) -> { handle, priority, progId }
static Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ArgInt(info, 0), .attach_point = (enum bpf_tc_attach_point)ArgInt(info, 1));
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = ArgInt(info, 2), .flags = info[5].ToBoolean() ? (__u32)BPF_TC_F_REPLACE : 0u,
              .handle = ArgU32(info, 3), .priority = ArgU32(info, 4));
  CheckRet(env, "tc attach", bpf_tc_attach(&hook, &opts));
  Napi::Object r = Napi::Object::New(env);
  r.Set("handle", Napi::Number::New(env, opts.handle));
  r.Set("priority", Napi::Number::New(env, opts.priority));
  r.Set("progId", Napi::Number::New(env, opts.prog_id));
  return r;
}

static Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ArgInt(info, 0), .attach_point = (enum bpf_tc_attach_point)ArgInt(info, 1));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ArgU32(info, 2), .priority = ArgU32(info, 3));
  int ret = bpf_tc_detach(&hook, &opts);
  if (ret == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  CheckRet(info.Env(), "tc detach", ret);
  return Napi::Boolean::New(info.Env(), true);
}

// -> progId, or 0 when nothing is attached with that handle/priority.
static Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ArgInt(info, 0), .attach_point = (enum bpf_tc_attach_point)ArgInt(info, 1));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ArgU32(info, 2), .priority = ArgU32(info, 3));
  int ret = bpf_tc_query(&hook, &opts);
  if (ret == -ENOENT) return Napi::Number::New(info.Env(), 0);
  CheckRet(info.Env(), "tc query", ret);
  return Napi::Number::New(info.Env(), opts.prog_id);
}

// BPF_PROG_QUERY on an ifindex (tcx, or any attach type keyed by target fd):
// (target, attachType) -> [progId...]
static Napi::Value ProgQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  __u32 ids[64];
  LIBBPF_OPTS(bpf_prog_query_opts, opts, .prog_ids = ids, .prog_cnt = 64);
  int ret = bpf_prog_query_opts(ArgInt(info, 0), (enum bpf_attach_type)ArgInt(info, 1), &opts);
  CheckRet(env, "prog query", ret);
  Napi::Array arr = Napi::Array::New(env, opts.prog_cnt);
  for (uint32_t i = 0; i < opts.prog_cnt && i < 64; i++) arr.Set(i, Napi::Number::New(env, ids[i]));
  return arr;
}

void InitTcOps(Napi::Env env, Napi::Object exports) {
  exports.Set("tcHookCreate", Napi::Function::New(env, TcHookCreate));
  exports.Set("tcHookDestroy", Napi::Function::New(env, TcHookDestroy));
  exports.Set("tcAttach", Napi::Function::New(env, TcAttach));
  exports.Set("tcDetach", Napi::Function::New(env, TcDetach));
  exports.Set("tcQuery", Napi::Function::New(env, TcQuery));
  exports.Set("progQuery", Napi::Function::New(env, ProgQuery));
}

}  // namespace xvtep
