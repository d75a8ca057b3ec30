#include "ring_buffer.h"

#include <errno.h>

#include "../errors.h"
#include "../util.h"

namespace xvtep {

Napi::Function RingBuffer::Init(Napi::Env env) {
  return DefineClass(env, "RingBuffer",
                     {
                         InstanceMethod("start", &RingBuffer::Start),
                         InstanceMethod("consume", &RingBuffer::Consume),
                         InstanceMethod("ref", &RingBuffer::Ref),
                         InstanceMethod("unref", &RingBuffer::Unref),
                         InstanceMethod("close", &RingBuffer::Close),
                     });
}

// (mapFd): the fd stays the caller's; libbpf maps the ring's pages itself.
RingBuffer::RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
  int fd = ArgInt(info, 0);
  rb_ = ring_buffer__new(fd, &RingBuffer::OnSample, this, nullptr);
  if (!rb_) throw ErrnoError(info.Env(), "ring_buffer__new", errno);
}

RingBuffer::~RingBuffer() { Shutdown(); }

int RingBuffer::OnSample(void* ctx, void* data, size_t size) {
  static_cast<RingBuffer*>(ctx)->pending_.emplace_back(static_cast<const char*>(data), size);
  return 0;
}

int RingBuffer::Drain() {
  if (!rb_) return -EBADF;
  return ring_buffer__consume(rb_);
}

Napi::Array RingBuffer::TakePending(Napi::Env env) {
  Napi::Array out = Napi::Array::New(env, pending_.size());
  for (size_t i = 0; i < pending_.size(); i++) {
    out.Set(i, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(pending_[i].data()), pending_[i].size()));
  }
  pending_.clear();
  return out;
}

void RingBuffer::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<RingBuffer*>(handle->data);
  if (!self || !self->rb_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  int n = status < 0 ? status : self->Drain();
  if (n == 0 && self->pending_.empty()) return;
  // (error|null, records): an error is the poll's or the consume's, with errno.
  Napi::Value err = env.Null();
  if (n < 0) err = ErrnoError(env, status < 0 ? "ring buffer poll" : "ring_buffer__consume", status < 0 ? -status : -n).Value();
  Napi::Array records = self->TakePending(env);
  try {
    self->cb_.MakeCallback(self->Value(), {err, records});
  } catch (const Napi::Error& e) {
    // No JS frame to throw into from a libuv callback: the process's
    // uncaughtException handling takes it, as for any event callback.
    napi_fatal_exception(env, e.Value());
  }
}

// (cb)
Napi::Value RingBuffer::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!rb_) throw ErrnoError(env, "ring buffer start", EBADF);
  if (poll_) throw ErrnoError(env, "ring buffer start", EALREADY);
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "argument 0 must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "ring buffer start: no event loop");
  auto* p = new uv_poll_t;
  int r = uv_poll_init(loop, p, ring_buffer__epoll_fd(rb_));
  if (r < 0) {
    delete p;
    throw ErrnoError(env, "uv_poll_init", -r);
  }
  p->data = this;
  r = uv_poll_start(p, UV_READABLE, &RingBuffer::OnReadable);
  if (r < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(p), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    throw ErrnoError(env, "uv_poll_start", -r);
  }
  poll_ = p;
  cb_ = Napi::Persistent(info[0].As<Napi::Function>());
  // Records already waiting: the ring's fd is level-triggered in libbpf's
  // epoll, so the first turn of the loop hands them over.
  return env.Undefined();
}

Napi::Value RingBuffer::Consume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = Drain();
  if (n < 0) {
    pending_.clear();
    throw ErrnoError(env, "ring_buffer__consume", -n);
  }
  return TakePending(env);
}

Napi::Value RingBuffer::Ref(const Napi::CallbackInfo& info) {
  if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  return info.Env().Undefined();
}

Napi::Value RingBuffer::Unref(const Napi::CallbackInfo& info) {
  if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  return info.Env().Undefined();
}

void RingBuffer::Shutdown() {
  if (poll_) {
    // Stop watching before the epoll fd goes with ring_buffer__free().
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (rb_) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
  if (!cb_.IsEmpty()) cb_.Reset();
  pending_.clear();
}

Napi::Value RingBuffer::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

}  // namespace xvtep
