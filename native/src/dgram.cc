// A sync link's UDP socket, made and bound here rather than by Node's dgram: conntrackd sets
// SO_SNDBUFFORCE / SO_RCVBUFFORCE (past net.core.wmem_max / rmem_max) and, for `Checksum
// off`, SO_NO_CHECK, none of which Node can set; dgram then wraps the bound descriptor
// (socket.bind({ fd })) and does the rest (multicast membership, send, receive). A TCP link's
// sockets are Node's; their buffers are set here through the descriptor.
#include "dgram.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ctnl {
namespace {

// The FORCE variant needs CAP_NET_ADMIN; without it the capped one, as conntrackd does not
// (it fails), because the sysctl maximum is better than no link.
void set_buffer(int fd, int force, int plain, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0) return;
  setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
}

int bind_address(int fd, bool v6, const std::string& address, int port, const std::string& device) {
  if (v6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    if (inet_pton(AF_INET6, address.c_str(), &sa.sin6_addr) != 1) return EINVAL;
    if (!device.empty()) sa.sin6_scope_id = if_nametoindex(device.c_str());
    return bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) return EINVAL;
  return bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
}

}  // namespace

Napi::Value OpenDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool v6 = info[0].As<Napi::Boolean>().Value();
  const std::string address = info[1].As<Napi::String>().Utf8Value();
  const int port = info[2].As<Napi::Number>().Int32Value();
  const std::string device = info[3].As<Napi::String>().Utf8Value();
  const int sndbuf = info[4].As<Napi::Number>().Int32Value();
  const int rcvbuf = info[5].As<Napi::Number>().Int32Value();
  const bool no_check = info[6].As<Napi::Boolean>().Value();

  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::Number::New(env, -errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  // UDP over IPv6 must carry a checksum: SO_NO_CHECK only means something for IPv4
  if (no_check && !v6) setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one);
  const int err = bind_address(fd, v6, address, port, device);
  if (err != 0) {
    close(fd);
    return Napi::Number::New(env, -err);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SetSocketBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, info[1].As<Napi::Number>().Int32Value());
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, info[2].As<Napi::Number>().Int32Value());
  int snd = 0;
  int rcv = 0;
  socklen_t len = sizeof snd;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len) != 0) return Napi::Number::New(env, -errno);
  len = sizeof rcv;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len) != 0) return Napi::Number::New(env, -errno);
  Napi::Array a = Napi::Array::New(env, 2);
  a[0u] = snd;
  a[1u] = rcv;
  return a;
}

}  // namespace ctnl
