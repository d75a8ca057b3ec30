// BPF_PROG_TEST_RUN, sync and async. The async form copies its inputs so the
// JS buffers may be collected while the kernel runs, and can run inside a
// network namespace (live frames resolve ingress_ifindex in the caller's netns,
// and worker threads start in the process's original one).
#include <bpf/bpf.h>
#include <sched.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "compat.h"
#include "errors.h"
#include "ops.h"
#include "util.h"

namespace xvtep {

struct TestRunArgs {
  int fd = -1;
  std::vector<uint8_t> data_in, ctx_in, data_out, ctx_out;
  bool has_data_in = false, has_ctx_in = false;
  uint32_t repeat = 0, flags = 0, cpu = 0, batch_size = 0;
  int netns_fd = -1;
  // results
  uint32_t retval = 0, duration = 0, data_out_len = 0, ctx_out_len = 0;
  int err = 0;
};

static TestRunArgs ParseTestRun(const Napi::CallbackInfo& info) {
  TestRunArgs a;
  a.fd = ArgInt(info, 0);
  Napi::Object o = info[1].As<Napi::Object>();
  auto buf = [&](const char* k, std::vector<uint8_t>& v, bool& has) {
    Napi::Value x = o.Get(k);
    if (x.IsTypedArray()) {
      auto arr = x.As<Napi::Uint8Array>();
      v.assign(arr.Data(), arr.Data() + arr.ByteLength());
      has = true;
    }
  };
  auto num = [&](const char* k) -> uint32_t {
    Napi::Value x = o.Get(k);
    return x.IsNumber() ? x.As<Napi::Number>().Uint32Value() : 0;
  };
  buf("data", a.data_in, a.has_data_in);
  buf("ctx", a.ctx_in, a.has_ctx_in);
  a.data_out.resize(num("dataOutSize"));
  a.ctx_out.resize(num("ctxOutSize"));
  a.repeat = num("repeat");
  a.flags = num("flags");
  a.cpu = num("cpu");
  a.batch_size = num("batchSize");
  Napi::Value ns = o.Get("netnsFd");
  a.netns_fd = ns.IsNumber() ? ns.As<Napi::Number>().Int32Value() : -1;
  return a;
}

static void RunTest(TestRunArgs& a) {
  int orig_ns = -1;
  if (a.netns_fd >= 0) {
    orig_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ns < 0 || setns(a.netns_fd, CLONE_NEWNET) < 0) {
      a.err = errno;
      if (orig_ns >= 0) close(orig_ns);
      return;
    }
  }
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (a.has_data_in) {
    opts.data_in = a.data_in.data();
    opts.data_size_in = a.data_in.size();
  }
  if (a.has_ctx_in) {
    opts.ctx_in = a.ctx_in.data();
    opts.ctx_size_in = a.ctx_in.size();
  }
  if (!a.data_out.empty()) {
    opts.data_out = a.data_out.data();
    opts.data_size_out = a.data_out.size();
  }
  if (!a.ctx_out.empty()) {
    opts.ctx_out = a.ctx_out.data();
    opts.ctx_size_out = a.ctx_out.size();
  }
  opts.repeat = a.repeat;
  opts.flags = a.flags;
  opts.cpu = a.cpu;
  opts.batch_size = a.batch_size;
  int ret = bpf_prog_test_run_opts(a.fd, &opts);
  // ENOSPC: data_out too small; the kernel still reports the full length.
  a.err = ret < 0 ? -ret : 0;
  a.retval = opts.retval;
  a.duration = opts.duration;
  a.data_out_len = opts.data_size_out;
  a.ctx_out_len = opts.ctx_size_out;
  if (orig_ns >= 0) {
    // Failing to return would leave a pool thread in a foreign netns.
    if (setns(orig_ns, CLONE_NEWNET) < 0) abort();
    close(orig_ns);
  }
}

static Napi::Value TestRunResult(Napi::Env env, TestRunArgs& a) {
  if (a.err) {
    Napi::Error e = ErrnoError(env, "prog test run", a.err);
    if (a.err == ENOSPC) e.Set("dataSizeOut", Napi::Number::New(env, a.data_out_len));
    throw e;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("retval", Napi::Number::New(env, a.retval));
  r.Set("duration", Napi::Number::New(env, a.duration));
  if (!a.data_out.empty())
    r.Set("data", Napi::Buffer<uint8_t>::Copy(env, a.data_out.data(), std::min<size_t>(a.data_out_len, a.data_out.size())));
  if (!a.ctx_out.empty())
    r.Set("ctx", Napi::Buffer<uint8_t>::Copy(env, a.ctx_out.data(), std::min<size_t>(a.ctx_out_len, a.ctx_out.size())));
  // BPF_PROG_TYPE_SYSCALL takes no ctx_out: the kernel writes the context back into ctx_in.
  else if (a.has_ctx_in)
    r.Set("ctxIn", Napi::Buffer<uint8_t>::Copy(env, a.ctx_in.data(), a.ctx_in.size()));
  return r;
}

static Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  TestRunArgs a = ParseTestRun(info);
  RunTest(a);
  return TestRunResult(info.Env(), a);
}

class TestRunWorker : public Napi::AsyncWorker {
 public:
  TestRunWorker(Napi::Env env, TestRunArgs&& a)
      : Napi::AsyncWorker(env), args_(std::move(a)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { RunTest(args_); }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(TestRunResult(env, args_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  TestRunArgs args_;
  Napi::Promise::Deferred deferred_;
};

static Napi::Value ProgTestRunAsync(const Napi::CallbackInfo& info) {
  auto* w = new TestRunWorker(info.Env(), ParseTestRun(info));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

void InitProgOps(Napi::Env env, Napi::Object exports) {
  exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun));
  exports.Set("progTestRunAsync", Napi::Function::New(env, ProgTestRunAsync));
}

}  // namespace xvtep
