// The sync links' sockets (dgram.cc).
#pragma once
#include <napi.h>

namespace ctnl {
// openDatagram(ipv6, address, port, scopeDevice, sndbuf, rcvbuf, noChecksum) -> fd, or -errno.
Napi::Value OpenDatagram(const Napi::CallbackInfo& info);
// setSocketBuffers(fd, sndbuf, rcvbuf) -> [snd, rcv] as the kernel took them (doubled), or -errno.
Napi::Value SetSocketBuffers(const Napi::CallbackInfo& info);
}  // namespace ctnl
