#include <napi.h>

#include "compat.h"
#include "libbpf_log.h"
#include "objects/bpf_object.h"
#include "objects/ring_buffer.h"
#include "ops.h"

namespace xvtep {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  exports.Set("BpfObject", BpfObject::Init(env));
  exports.Set("RingBuffer", RingBuffer::Init(env));
  InitMapOps(env, exports);
  InitProgOps(env, exports);
  InitLinkOps(env, exports);
  InitTcOps(env, exports);
  InitSysOps(env, exports);
  InitProbeOps(env, exports);
  return exports;
}

}  // namespace xvtep

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return xvtep::Init(env, exports); }

NODE_API_MODULE(xvtep_native, InitModule)
