#pragma once
#include <napi.h>
#include <string>

namespace xvtep {

// Builds the Error every native call throws: message "<op>: <strerror>",
// plus errno (positive number), code (e.g. "ENOENT") and op, so the TS layer
// can wrap it in BpfError without parsing text.
Napi::Error ErrnoError(Napi::Env env, const std::string& op, int err);

// Throws ErrnoError when ret < 0 (libbpf 1.x returns -errno). Returns ret.
int CheckRet(Napi::Env env, const std::string& op, int ret);

const char* ErrnoName(int err);

}  // namespace xvtep
