// The sync links' datagram sockets (dgram.cc).
#pragma once
#include <napi.h>

namespace ctnl {
// openDatagram(ipv6, address, port, scopeDevice, sndbuf, rcvbuf, noChecksum) -> fd, or -errno.
Napi::Value OpenDatagram(const Napi::CallbackInfo& info);
}  // namespace ctnl
