// Memory the caches grow into (memory.cc).
#pragma once
#include <napi.h>

namespace ctnl {
// populate(view) -> 0, or errno: the whole pages inside the view's bytes made resident and
// writable now, in one call (MADV_POPULATE_WRITE), instead of one page fault per page later.
Napi::Value Populate(const Napi::CallbackInfo& info);
}  // namespace ctnl
