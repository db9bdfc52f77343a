// Compact fixed-size records exchanged between the addon and JavaScript.
//
// A conntrack entry or an expectation crosses the JS/C++ boundary as one fixed-size slot in a
// byte buffer (host byte order), never as a JS object: JS packs and unpacks them with the
// offsets the addon exports (`layout`), so there is one definition of the layout — this file.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ctnl {

enum TupleFlag : uint8_t {
  TUP_PORTS = 1,  // sport/dport valid (TCP, UDP, SCTP, DCCP, UDPLITE)
  TUP_ICMP = 2,   // icmp_type/code/id valid
};

struct TupleRec {
  uint8_t family;  // AF_INET / AF_INET6; 0 = tuple absent
  uint8_t proto;
  uint8_t flags;   // TupleFlag
  uint8_t icmp_type;
  uint8_t icmp_code;
  uint8_t pad0;
  uint16_t icmp_id;
  uint16_t sport;
  uint16_t dport;
  uint8_t src[16];
  uint8_t dst[16];
};

struct NatRec {
  uint8_t addr[16];
  uint16_t port;
  uint8_t has_port;
  uint8_t pad0;
};

// Presence bits of CtRec::present.
enum CtBit : uint32_t {
  CT_ORIG = 1u << 0,
  CT_REPLY = 1u << 1,
  CT_MASTER = 1u << 2,
  CT_STATUS = 1u << 3,
  CT_TIMEOUT = 1u << 4,
  CT_MARK = 1u << 5,
  CT_ZONE = 1u << 6,
  CT_TCP_STATE = 1u << 7,
  CT_TCP_WSCALE = 1u << 8,
  CT_TCP_FLAGS = 1u << 9,
  CT_SCTP_STATE = 1u << 10,
  CT_SCTP_VTAG = 1u << 11,
  CT_DCCP_STATE = 1u << 12,
  CT_DCCP_ROLE = 1u << 13,
  CT_SNAT = 1u << 14,
  CT_DNAT = 1u << 15,
  CT_SEQADJ_ORIG = 1u << 16,
  CT_SEQADJ_REPL = 1u << 17,
  CT_HELPER = 1u << 18,
  CT_LABELS = 1u << 19,
  CT_SYNPROXY = 1u << 20,
  CT_ID = 1u << 21,
  CT_USE = 1u << 22,
  CT_SECMARK = 1u << 23,
  CT_COUNTERS = 1u << 24,
};

enum ExpBit : uint32_t {
  EXP_MASTER = 1u << 0,
  EXP_TUPLE = 1u << 1,
  EXP_MASK = 1u << 2,
  EXP_TIMEOUT = 1u << 3,
  EXP_FLAGS = 1u << 4,
  EXP_CLASS = 1u << 5,
  EXP_NAT = 1u << 6,
  EXP_HELPER = 1u << 7,
  EXP_FN = 1u << 8,
  EXP_ZONE = 1u << 9,
  EXP_ID = 1u << 10,
};

enum RecKind : uint8_t { KIND_CT = 1, KIND_EXP = 2 };
enum EventType : uint8_t { EV_NONE = 0, EV_NEW = 1, EV_UPDATE = 2, EV_DESTROY = 3 };

// Common head of both record kinds.
struct RecHead {
  uint32_t present;
  uint8_t kind;   // RecKind
  uint8_t event;  // EventType (events only)
  uint16_t pad0;
  uint32_t port_id;  // nlmsg_pid of the event: the requester's port (origin tracking, spec §3.2)
  uint32_t pad1;
};

struct CtRec {
  RecHead head;
  TupleRec orig, reply, master;
  uint32_t status, timeout, mark;
  uint16_t zone;
  uint8_t tcp_state, tcp_wscale_orig, tcp_wscale_repl, tcp_flags_orig, tcp_flags_repl;
  uint8_t sctp_state, dccp_state, dccp_role;
  uint16_t pad0;
  uint32_t sctp_vtag_orig, sctp_vtag_repl;
  NatRec snat, dnat;
  uint32_t seqadj_orig[3], seqadj_repl[3];  // correction_pos, offset_before, offset_after
  char helper[16];
  uint32_t labels[4];
  uint32_t synproxy[3];  // isn, its, tsoff
  uint32_t id, use, secmark;
  uint32_t pad1;
  uint64_t counters[4];  // orig packets, orig bytes, reply packets, reply bytes
};

struct ExpRec {
  RecHead head;
  TupleRec master, tuple, mask, nat_tuple;
  uint32_t timeout, flags, klass, nat_dir, id;
  uint16_t zone;
  uint16_t pad0;
  char helper[16];
  char fn[32];
};

constexpr size_t kSlot = ((sizeof(CtRec) > sizeof(ExpRec) ? sizeof(CtRec) : sizeof(ExpRec)) + 7) & ~size_t(7);

}  // namespace ctnl
