#pragma once
#include <napi.h>

namespace xvtep {

void InitMapOps(Napi::Env env, Napi::Object exports);
void InitProgOps(Napi::Env env, Napi::Object exports);
void InitLinkOps(Napi::Env env, Napi::Object exports);
void InitTcOps(Napi::Env env, Napi::Object exports);
void InitSysOps(Napi::Env env, Napi::Object exports);
void InitProbeOps(Napi::Env env, Napi::Object exports);

}  // namespace xvtep
