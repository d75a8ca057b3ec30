// Link syscalls: XDP and tcx links through bpf_link_create (libbpf 1.1.2 has
// no tcx helper; its bpf_link_create passes unknown attach types through with
// the target ifindex, which is all tcx needs), update, detach, and XDP query.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compat.h"
#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

// (progFd, targetFdOrIfindex, attachType, flags) -> linkFd
static Napi::Value LinkCreate(const Napi::CallbackInfo& info) {
  int prog_fd = ArgInt(info, 0);
  int target = ArgInt(info, 1);
  int type = ArgInt(info, 2);
  uint32_t flags = ArgU32(info, 3);
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
  int fd = bpf_link_create(prog_fd, target, (enum bpf_attach_type)type, &opts);
  return Napi::Number::New(info.Env(), CheckRet(info.Env(), "link create", fd));
}

// (linkFd, newProgFd, oldProgFd) — with oldProgFd >= 0 the swap only happens
// if that program is still the one attached (BPF_F_REPLACE).
static Napi::Value LinkUpdate(const Napi::CallbackInfo& info) {
  int link_fd = ArgInt(info, 0);
  int new_prog = ArgInt(info, 1);
  int old_prog = ArgInt(info, 2);
  LIBBPF_OPTS(bpf_link_update_opts, opts);
  if (old_prog >= 0) {
    opts.old_prog_fd = old_prog;
    opts.flags = BPF_F_REPLACE;
  }
  CheckRet(info.Env(), "link update", bpf_link_update(link_fd, new_prog, &opts));
  return info.Env().Undefined();
}

static Napi::Value LinkDetach(const Napi::CallbackInfo& info) {
  CheckRet(info.Env(), "link detach", bpf_link_detach(ArgInt(info, 0)));
  return info.Env().Undefined();
}

// (ifindex, xdpFlags) -> { progId, drvProgId, skbProgId, hwProgId, attachMode }
static Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  CheckRet(env, "xdp query", bpf_xdp_query(ArgInt(info, 0), ArgInt(info, 1), &opts));
  Napi::Object r = Napi::Object::New(env);
  r.Set("progId", Napi::Number::New(env, opts.prog_id));
  r.Set("drvProgId", Napi::Number::New(env, opts.drv_prog_id));
  r.Set("skbProgId", Napi::Number::New(env, opts.skb_prog_id));
  r.Set("hwProgId", Napi::Number::New(env, opts.hw_prog_id));
  r.Set("attachMode", Napi::Number::New(env, opts.attach_mode));
  return r;
}

void InitLinkOps(Napi::Env env, Napi::Object exports) {
  exports.Set("linkCreate", Napi::Function::New(env, LinkCreate));
  exports.Set("linkUpdate", Napi::Function::New(env, LinkUpdate));
  exports.Set("linkDetach", Napi::Function::New(env, LinkDetach));
  exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
}

}  // namespace xvtep
