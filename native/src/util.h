#pragma once
#include <napi.h>
#include <stdint.h>

namespace xvtep {

// Arguments arrive already checked by the TS layer; these only guard against
// a wrong type reaching C (a TypeError instead of a crash).
inline int ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

inline uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

inline uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsBigInt()) {
    bool lossless;
    return info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number or bigint");
  return (uint64_t)info[i].As<Napi::Number>().Int64Value();
}

inline std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

// A Buffer/Uint8Array argument, or null/undefined when optional.
inline Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, bool optional = false) {
  Bytes b;
  if (optional && (info[i].IsNull() || info[i].IsUndefined())) return b;
  if (!info[i].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Buffer");
  auto arr = info[i].As<Napi::Uint8Array>();
  b.data = arr.Data();
  b.len = arr.ByteLength();
  return b;
}

}  // namespace xvtep
