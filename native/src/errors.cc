#include "errors.h"

#include <string.h>

namespace xvtep {

const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
}

Napi::Error ErrnoError(Napi::Env env, const std::string& op, int err) {
  if (err < 0) err = -err;
  Napi::Error e = Napi::Error::New(env, op + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("op", Napi::String::New(env, op));
  return e;
}

int CheckRet(Napi::Env env, const std::string& op, int ret) {
  if (ret < 0) throw ErrnoError(env, op, -ret);
  return ret;
}

}  // namespace xvtep
