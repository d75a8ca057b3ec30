#pragma once
#include <bpf/libbpf.h>
#include <napi.h>
#include <uv.h>

#include <string>
#include <vector>

namespace xvtep {

// A consumer of one BPF_MAP_TYPE_RINGBUF map (libbpf's ring_buffer over the
// map fd). start(cb) polls ring_buffer__epoll_fd() on the libuv loop and,
// each time the kernel signals data, hands cb one Array of Buffers: every
// record that was ready, copied, in ring order. consume() does the same
// synchronously and returns the Array. No decoding and no policy here.
class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RingBuffer(const Napi::CallbackInfo& info);
  ~RingBuffer() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Consume(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static int OnSample(void* ctx, void* data, size_t size);
  static void OnReadable(uv_poll_t* handle, int status, int events);
  // Drains the ring into pending_; returns the records taken or -errno.
  int Drain();
  Napi::Array TakePending(Napi::Env env);
  void Shutdown();

  struct ring_buffer* rb_ = nullptr;
  // Heap-allocated: libuv owns it until its close callback runs, which may be
  // after this object is collected.
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference cb_;
  std::vector<std::string> pending_;
};

}  // namespace xvtep
