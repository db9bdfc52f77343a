// A cache grows by chunks of record slots it fills one by one: each first write to a page is a
// page fault, and on a virtual machine a costly one (the host backs the page then). Asking the
// kernel for all of a chunk's pages in one madvise costs markedly less per page.
#include "memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace ctnl {

Napi::Value Populate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::TypedArray view = info[0].As<Napi::TypedArray>();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<uintptr_t>(view.ArrayBuffer().Data()) + view.ByteOffset();
  const uintptr_t start = (base + page - 1) & ~(page - 1);
  const uintptr_t end = (base + view.ByteLength()) & ~(page - 1);
  if (end <= start) return Napi::Number::New(env, 0);
  const int r = madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
  return Napi::Number::New(env, r == 0 ? 0 : errno);
}

}  // namespace ctnl
