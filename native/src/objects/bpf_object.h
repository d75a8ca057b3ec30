#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <string>
#include <vector>

namespace xvtep {

// One ELF object: opened (maps and programs described, nothing in the kernel),
// adjusted (rodata, map sizes, reused map fds, autoload), then loaded once.
// The fds it hands out belong to it and die with close(); the TS layer dups
// the ones it keeps.
class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value SetRodata(const Napi::CallbackInfo& info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value ReuseFd(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value LoadSync(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  struct bpf_object* Obj(Napi::Env env);
  struct bpf_map* FindMap(Napi::Env env, const std::string& name);
  struct bpf_program* FindProg(Napi::Env env, const std::string& name);

  friend class LoadWorker;
  struct bpf_object* obj_ = nullptr;
  std::vector<uint8_t> elf_;  // open_mem keeps pointers into the image
  char* log_buf_ = nullptr;
  size_t log_size_ = 0;
  bool loading_ = false;
  bool loaded_ = false;
};

}  // namespace xvtep
