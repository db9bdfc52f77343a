// Netlink sockets of the ctnetlink handle: request/acknowledge batches, dumps, event reads.
// Every function here blocks and is called off the JS thread (or for one short round trip).
#pragma once
#include <libmnl/libmnl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "record.h"

namespace ctnl {

class NlSocket {
 public:
  // Opens NETLINK_NETFILTER bound to `groups` (a bitmask of NFNLGRP_* bits) in the calling
  // thread's network namespace, or in the namespace of `netns_fd` if >= 0 (a socket stays in
  // the namespace it was made in); throws SysError.
  explicit NlSocket(unsigned groups = 0, int netns_fd = -1);
  ~NlSocket();
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;

  int fd() const;
  uint32_t port_id() const;
  // SO_RCVBUFFORCE (falls back to SO_RCVBUF); returns the size the kernel reports after.
  int set_rcvbuf(int bytes);
  int rcvbuf() const;
  void set_flag(int option, int on);  // SOL_NETLINK boolean options
  bool flag(int option) const;
  // `n` consecutive sequence numbers of requests on this socket, never handed out twice (any
  // thread may call it).
  uint32_t take_seqs(uint32_t n);

  mnl_socket* nl;

 private:
  std::atomic<uint32_t> seq_{1};
};

struct SysError {
  int err;
  const char* what;
};

enum class Op { Create, Update, Delete, Get, ExpCreate, ExpDelete, ExpGet };

// Sends `count` records (kSlot bytes each) as one request each, many per sendmsg, and stores
// one result per item in `results` (0 or a positive errno). For Get/ExpGet the entry found is
// written to the same slot of `out`. Returns 0 or an errno that failed the whole batch.
int exec_batch(NlSocket& s, Op op, const uint8_t* recs, size_t count, unsigned opts, int32_t* results,
               uint8_t* out);

// A request without attributes answered by one ack (flush), or with one data message (stats).
int exec_simple(NlSocket& s, uint16_t type, uint8_t family, uint32_t* entries);

// Dumps the conntrack (exp=false) or expectation table, calling `on_msg` for each entry's
// message until it returns false (ECANCELED). Returns 0 or an errno.
int dump(NlSocket& s, bool exp, uint8_t family, const std::function<bool(const nlmsghdr*)>& on_msg);

}  // namespace ctnl
