// Feature probes for `xvtep doctor` and the attach paths: what the running
// kernel accepts, found by asking it (libbpf's probes load tiny programs),
// never by its version number.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

// (progType, expectedAttachType, helperId) -> 1 when a program of that type
// (and attach type: a kernel may refuse a helper for one and not another)
// may call the helper, else 0. The program calls it with zero arguments: a
// refusal of those still means the helper exists. Not libbpf_probe_bpf_helper:
// it matches only "invalid func"/"unknown func" and reports a helper the
// verifier refuses with "program of this type cannot use helper" as present.
static Napi::Value ProbeHelper(const Napi::CallbackInfo& info) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_5, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_CALL, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = ArgInt(info, 2)},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  static char log[8192];
  log[0] = 0;
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = (enum bpf_attach_type)ArgInt(info, 1),
              .log_level = 1, .log_size = sizeof(log), .log_buf = log);
  int fd = bpf_prog_load((enum bpf_prog_type)ArgInt(info, 0), "xv_probe", "GPL", insns, 7, &opts);
  int err = errno;
  if (fd >= 0) {
    close(fd);
    return Napi::Number::New(info.Env(), 1);
  }
  if (err == EPERM) CheckRet(info.Env(), "probe helper", -EPERM);
  bool absent = strstr(log, "cannot use helper") || strstr(log, "invalid func ") || strstr(log, "unknown func ");
  return Napi::Number::New(info.Env(), absent ? 0 : 1);
}

// (progType, progFlags, expectedAttachType) -> 0 when a `return 0` program of
// that type loads with those flags, else the negative errno. Not thrown: a
// refusal is the answer.
static Napi::Value ProbeProgLoad(const Napi::CallbackInfo& info) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = (enum bpf_attach_type)ArgInt(info, 2),
              .prog_flags = ArgU32(info, 1));
  int fd = bpf_prog_load((enum bpf_prog_type)ArgInt(info, 0), "xv_probe", "GPL", insns, 2, &opts);
  if (fd >= 0) {
    close(fd);
    return Napi::Number::New(info.Env(), 0);
  }
  return Napi::Number::New(info.Env(), -errno);
}

// bpf_skb_adjust_room's DECAP_L3 flags (linux 6.3): older kernels refuse
// unknown flags with EINVAL at run time, not at load, so the probe runs a
// SCHED_CLS program that shrinks a VXLAN-shaped frame with the flag and
// returns the helper's result. -> 0 supported, else the negative errno.
static Napi::Value ProbeAdjustRoomDecap(const Napi::CallbackInfo& info) {
  const int32_t shrink = 36;  // outer IPv4 options-free header + UDP + VXLAN: any length works
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .src_reg = 0, .off = 0, .imm = -shrink},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .src_reg = 0, .off = 0, .imm = 0 /* BPF_ADJ_ROOM_MAC */},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4, .src_reg = 0, .off = 0, .imm = 1 << 7 /* DECAP_L3_IPV4 */},
      {.code = BPF_JMP | BPF_CALL, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = BPF_FUNC_skb_adjust_room},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "xv_probe_decap", "GPL", insns, 5, nullptr);
  if (fd < 0) return Napi::Number::New(info.Env(), -errno);
  // Ethernet + IPv4 + 64 bytes: the kernel only checks that an IPv4 base header remains.
  uint8_t pkt[14 + 20 + 64] = {0};
  pkt[12] = 0x08;
  pkt[14] = 0x45;
  pkt[16] = 0;
  pkt[17] = sizeof(pkt) - 14;
  pkt[22] = 64;
  pkt[23] = 17;
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
  int ret = bpf_prog_test_run_opts(fd, &run);
  int err = errno;
  close(fd);
  if (ret < 0) return Napi::Number::New(info.Env(), -err);
  return Napi::Number::New(info.Env(), (int32_t)run.retval);
}

// (ifindex) -> 0 when an XDP_PASS program attaches to the interface in
// driver (native) mode, else the negative errno. Detached again at once
// (the link's only fd is closed): `xvtep doctor --probe-attach` only.
static Napi::Value ProbeXdpAttach(const Napi::CallbackInfo& info) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 2 /* XDP_PASS */},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP);
  int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "xv_probe_xdp", "GPL", insns, 2, &opts);
  if (prog < 0) return Napi::Number::New(info.Env(), -errno);
  LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = 1U << 2 /* XDP_FLAGS_DRV_MODE */);
  int link = bpf_link_create(prog, ArgInt(info, 0), BPF_XDP, &lopts);
  int err = errno;
  if (link >= 0) close(link);
  close(prog);
  return Napi::Number::New(info.Env(), link >= 0 ? 0 : -err);
}

void InitProbeOps(Napi::Env env, Napi::Object exports) {
  exports.Set("probeHelper", Napi::Function::New(env, ProbeHelper));
  exports.Set("probeAdjustRoomDecap", Napi::Function::New(env, ProbeAdjustRoomDecap));
  exports.Set("probeXdpAttach", Napi::Function::New(env, ProbeXdpAttach));
  exports.Set("probeProgLoad", Napi::Function::New(env, ProbeProgLoad));
}

}  // namespace xvtep
