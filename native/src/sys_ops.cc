// Generic object calls (pin/get/info/by-id), fds, and the few OS calls the
// TS layer cannot make itself (if_nametoindex, setns, statfs, the driver name).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

static Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  CheckRet(info.Env(), "pin " + ArgString(info, 1), bpf_obj_pin(ArgInt(info, 0), ArgString(info, 1).c_str()));
  return info.Env().Undefined();
}

static Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  int fd = bpf_obj_get(path.c_str());
  return Napi::Number::New(info.Env(), CheckRet(info.Env(), "open pinned " + path, fd));
}

static std::string HexTag(const unsigned char* tag) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < BPF_TAG_SIZE; i++) {
    s.push_back(hex[tag[i] >> 4]);
    s.push_back(hex[tag[i] & 15]);
  }
  return s;
}

static Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_prog_info pi = {};
  __u32 len = sizeof(pi);
  CheckRet(env, "prog info", bpf_obj_get_info_by_fd(ArgInt(info, 0), &pi, &len));
  Napi::Object r = Napi::Object::New(env);
  r.Set("id", Napi::Number::New(env, pi.id));
  r.Set("type", Napi::Number::New(env, pi.type));
  r.Set("name", Napi::String::New(env, pi.name));
  r.Set("tag", Napi::String::New(env, HexTag(pi.tag)));
  r.Set("runTimeNs", Napi::Number::New(env, (double)pi.run_time_ns));
  r.Set("runCount", Napi::Number::New(env, (double)pi.run_cnt));
  r.Set("jitedLen", Napi::Number::New(env, pi.jited_prog_len));
  r.Set("xlatedLen", Napi::Number::New(env, pi.xlated_prog_len));
  return r;
}

// The ids of the maps a program uses (unpinned ones included: a program
// loaded later into the same data path reuses them by id).
static Napi::Value ProgMapIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  __u32 ids[64];
  struct bpf_prog_info pi = {};
  pi.nr_map_ids = 64;
  pi.map_ids = (__u64)(uintptr_t)ids;
  __u32 len = sizeof(pi);
  CheckRet(env, "prog info", bpf_obj_get_info_by_fd(ArgInt(info, 0), &pi, &len));
  if (pi.nr_map_ids > 64) throw ErrnoError(env, "prog map ids", E2BIG);
  Napi::Array r = Napi::Array::New(env, pi.nr_map_ids);
  for (__u32 i = 0; i < pi.nr_map_ids; i++) r.Set(i, Napi::Number::New(env, ids[i]));
  return r;
}

static Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  CheckRet(env, "map info", bpf_obj_get_info_by_fd(ArgInt(info, 0), &mi, &len));
  Napi::Object r = Napi::Object::New(env);
  r.Set("id", Napi::Number::New(env, mi.id));
  r.Set("type", Napi::Number::New(env, mi.type));
  r.Set("name", Napi::String::New(env, mi.name));
  r.Set("keySize", Napi::Number::New(env, mi.key_size));
  r.Set("valueSize", Napi::Number::New(env, mi.value_size));
  r.Set("maxEntries", Napi::Number::New(env, mi.max_entries));
  r.Set("flags", Napi::Number::New(env, mi.map_flags));
  return r;
}

// The union after prog_id starts with the target ifindex for both xdp and
// tcx links, followed by the attach type for tcx (kernel >= 6.6 layout).
static Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_link_info li = {};
  __u32 len = sizeof(li);
  CheckRet(env, "link info", bpf_obj_get_info_by_fd(ArgInt(info, 0), &li, &len));
  const __u32* u = reinterpret_cast<const __u32*>(&li.xdp);
  Napi::Object r = Napi::Object::New(env);
  r.Set("id", Napi::Number::New(env, li.id));
  r.Set("type", Napi::Number::New(env, li.type));
  r.Set("progId", Napi::Number::New(env, li.prog_id));
  r.Set("ifindex", Napi::Number::New(env, u[0]));
  r.Set("attachType", Napi::Number::New(env, u[1]));
  return r;
}

static Napi::Value GetFdById(const Napi::CallbackInfo& info) {
  std::string kind = ArgString(info, 0);
  uint32_t id = ArgU32(info, 1);
  int fd = kind == "prog" ? bpf_prog_get_fd_by_id(id) : kind == "map" ? bpf_map_get_fd_by_id(id) : bpf_link_get_fd_by_id(id);
  return Napi::Number::New(info.Env(), CheckRet(info.Env(), kind + " get fd by id " + std::to_string(id), fd));
}

// Walks every object id of a kind: used to prove nothing leaked.
static Napi::Value NextId(const Napi::CallbackInfo& info) {
  std::string kind = ArgString(info, 0);
  __u32 start = ArgU32(info, 1), next = 0;
  int ret = kind == "prog" ? bpf_prog_get_next_id(start, &next)
            : kind == "map" ? bpf_map_get_next_id(start, &next)
                            : bpf_link_get_next_id(start, &next);
  if (ret == -ENOENT) return Napi::Number::New(info.Env(), 0);
  CheckRet(info.Env(), kind + " get next id", ret);
  return Napi::Number::New(info.Env(), next);
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  if (fd >= 0 && close(fd) < 0) throw ErrnoError(info.Env(), "close", errno);
  return info.Env().Undefined();
}

static Napi::Value DupFd(const Napi::CallbackInfo& info) {
  int fd = fcntl(ArgInt(info, 0), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) throw ErrnoError(info.Env(), "dup", errno);
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value OpenRead(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(info.Env(), "open " + path, errno);
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value SetNs(const Napi::CallbackInfo& info) {
  if (setns(ArgInt(info, 0), ArgInt(info, 1)) < 0) throw ErrnoError(info.Env(), "setns", errno);
  return info.Env().Undefined();
}

static Napi::Value FsMagic(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  struct statfs st;
  if (statfs(path.c_str(), &st) < 0) throw ErrnoError(info.Env(), "statfs " + path, errno);
  return Napi::Number::New(info.Env(), (double)(unsigned long)st.f_type);
}

static Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  unsigned idx = if_nametoindex(name.c_str());
  if (!idx) throw ErrnoError(info.Env(), "interface " + name, errno);
  return Napi::Number::New(info.Env(), idx);
}

static Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  char buf[IF_NAMESIZE];
  uint32_t idx = ArgU32(info, 0);
  if (!if_indextoname(idx, buf)) throw ErrnoError(info.Env(), "ifindex " + std::to_string(idx), errno);
  return Napi::String::New(info.Env(), buf);
}

// The driver behind an interface (ETHTOOL_GDRVINFO, what `ethtool -i` shows:
// "veth", "tun", ...), "" when it reports none. One ioctl where a detailed
// `ip link show` costs a process spawn.
static Napi::Value IfDriver(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  if (name.size() >= IFNAMSIZ) throw ErrnoError(info.Env(), "interface " + name, ENODEV);
  struct ethtool_drvinfo drv = {};
  drv.cmd = ETHTOOL_GDRVINFO;
  struct ifreq ifr = {};
  memcpy(ifr.ifr_name, name.c_str(), name.size());
  ifr.ifr_data = reinterpret_cast<char*>(&drv);
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) throw ErrnoError(info.Env(), "socket", errno);
  int ret = ioctl(sock, SIOCETHTOOL, &ifr);
  int err = errno;
  close(sock);
  if (ret < 0 && err == EOPNOTSUPP) return Napi::String::New(info.Env(), "");
  if (ret < 0) throw ErrnoError(info.Env(), "interface " + name, err);
  drv.driver[sizeof(drv.driver) - 1] = 0;
  return Napi::String::New(info.Env(), drv.driver);
}

static Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), CheckRet(info.Env(), "possible cpus", libbpf_num_possible_cpus()));
}

void InitSysOps(Napi::Env env, Napi::Object exports) {
  exports.Set("objPin", Napi::Function::New(env, ObjPin));
  exports.Set("objGet", Napi::Function::New(env, ObjGet));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo));
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo));
  exports.Set("progMapIds", Napi::Function::New(env, ProgMapIds));
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo));
  exports.Set("getFdById", Napi::Function::New(env, GetFdById));
  exports.Set("nextId", Napi::Function::New(env, NextId));
  exports.Set("close", Napi::Function::New(env, CloseFd));
  exports.Set("dup", Napi::Function::New(env, DupFd));
  exports.Set("openRead", Napi::Function::New(env, OpenRead));
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("fsMagic", Napi::Function::New(env, FsMagic));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex));
  exports.Set("ifIndexToName", Napi::Function::New(env, IfIndexToName));
  exports.Set("ifDriver", Napi::Function::New(env, IfDriver));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
}

}  // namespace xvtep
