#pragma once
#include <string>

namespace xvtep {

// libbpf reports through one process-wide print callback. Messages are kept
// per thread so that an async load on a worker thread collects only its own
// lines; they end up in the error of the operation that produced them.
void InstallLibbpfPrint();
void LibbpfLogBegin();
std::string LibbpfLogTake();

}  // namespace xvtep
