// ctnetlink attribute encoding and decoding: records <-> netlink messages. Knows nothing of
// sockets (the build.c / parse.c split of conntrack-tools).
#pragma once
#include <linux/netlink.h>
#include <cstddef>
#include <cstdint>

#include "record.h"

namespace ctnl {

// Options of build_ct(); see spec/conntrackd.md §1.11 for what create and update carry.
enum BuildOpt : unsigned {
  BUILD_KEY = 1,      // orig tuple and zone only (get, delete)
  BUILD_CREATE = 2,   // + reply tuple (mirror of orig unless given), NAT ranges, helper, master
  BUILD_UPDATE = 4,   // no NAT, helper or master; NAT bits cleared from status
  BUILD_LIBERAL = 8,  // TCP: IP_CT_TCP_FLAG_BE_LIBERAL both ways, as conntrackd does for injected flows
};

// Largest message build_ct()/build_exp() can produce; callers keep this much room free.
constexpr size_t kMaxMsg = 1024;

nlmsghdr* build_ct(void* buf, uint16_t type, uint16_t flags, uint32_t seq, const CtRec& r, unsigned opts);
nlmsghdr* build_exp(void* buf, uint16_t type, uint16_t flags, uint32_t seq, const ExpRec& r, bool key_only);
// A request with no attributes (dump, flush, stats) for the given subsystem message type.
nlmsghdr* build_empty(void* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family);

// Decode one ctnetlink message into a record slot; returns false if it is not a conntrack /
// expectation message. Sets head.event from the message type and flags.
bool parse_msg(const nlmsghdr* nlh, uint8_t* slot);

}  // namespace ctnl
