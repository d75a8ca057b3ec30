#include "libbpf_log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

namespace xvtep {

static thread_local std::string* capture = nullptr;
static bool debug_to_stderr = false;

static int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !debug_to_stderr) return 0;
  char buf[2048];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof(buf), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (capture) capture->append(buf);
  if (debug_to_stderr) fputs(buf, stderr);
  return n;
}

void InstallLibbpfPrint() {
  const char* env = getenv("XVTEP_LIBBPF_DEBUG");
  debug_to_stderr = env && *env && *env != '0';
  libbpf_set_print(Print);
}

void LibbpfLogBegin() {
  delete capture;
  capture = new std::string();
}

std::string LibbpfLogTake() {
  std::string out;
  if (capture) {
    out.swap(*capture);
    delete capture;
    capture = nullptr;
  }
  return out;
}

}  // namespace xvtep
