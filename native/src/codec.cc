#include "codec.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cstring>

namespace ctnl {
namespace {

constexpr uint8_t kTcpBeLiberal = 0x08;  // IP_CT_TCP_FLAG_BE_LIBERAL

nlmsghdr* put_header(void* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return nlh;
}

// ICMP(v6) type of the reply direction, as the kernel's invert_tuple computes it.
uint8_t icmp_reply_type(uint8_t proto, uint8_t type) {
  if (proto == IPPROTO_ICMP) {
    switch (type) {
      case 8: return 0;
      case 0: return 8;
      case 13: return 14;
      case 14: return 13;
      case 15: return 16;
      case 16: return 15;
      case 17: return 18;
      case 18: return 17;
      default: return type;
    }
  }
  switch (type) {
    case 128: return 129;
    case 129: return 128;
    case 139: return 140;
    case 140: return 139;
    default: return type;
  }
}

void put_tuple(nlmsghdr* nlh, uint16_t type, const TupleRec& t, bool mirror) {
  nlattr* tuple = mnl_attr_nest_start(nlh, type);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  const uint8_t* src = mirror ? t.dst : t.src;
  const uint8_t* dst = mirror ? t.src : t.dst;
  if (t.family == AF_INET) {
    mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, src);
    mnl_attr_put(nlh, CTA_IP_V4_DST, 4, dst);
  } else {
    mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, src);
    mnl_attr_put(nlh, CTA_IP_V6_DST, 16, dst);
  }
  mnl_attr_nest_end(nlh, ip);
  nlattr* proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t.proto);
  if (t.flags & TUP_PORTS) {
    mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(mirror ? t.dport : t.sport));
    mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(mirror ? t.sport : t.dport));
  }
  if (t.flags & TUP_ICMP) {
    const bool v6 = t.proto == IPPROTO_ICMPV6;
    const uint8_t itype = mirror ? icmp_reply_type(t.proto, t.icmp_type) : t.icmp_type;
    mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, itype);
    mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, t.icmp_code);
    mnl_attr_put_u16(nlh, v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, htons(t.icmp_id));
  }
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, tuple);
}

void put_nat(nlmsghdr* nlh, uint16_t type, uint8_t family, const NatRec& n) {
  nlattr* nat = mnl_attr_nest_start(nlh, type);
  if (family == AF_INET) {
    mnl_attr_put(nlh, CTA_NAT_V4_MINIP, 4, n.addr);
    mnl_attr_put(nlh, CTA_NAT_V4_MAXIP, 4, n.addr);
  } else {
    mnl_attr_put(nlh, CTA_NAT_V6_MINIP, 16, n.addr);
    mnl_attr_put(nlh, CTA_NAT_V6_MAXIP, 16, n.addr);
  }
  if (n.has_port) {
    nlattr* proto = mnl_attr_nest_start(nlh, CTA_NAT_PROTO);
    mnl_attr_put_u16(nlh, CTA_PROTONAT_PORT_MIN, htons(n.port));
    mnl_attr_put_u16(nlh, CTA_PROTONAT_PORT_MAX, htons(n.port));
    mnl_attr_nest_end(nlh, proto);
  }
  mnl_attr_nest_end(nlh, nat);
}

void put_seqadj(nlmsghdr* nlh, uint16_t type, const uint32_t v[3]) {
  nlattr* nest = mnl_attr_nest_start(nlh, type);
  mnl_attr_put_u32(nlh, CTA_SEQADJ_CORRECTION_POS, htonl(v[0]));
  mnl_attr_put_u32(nlh, CTA_SEQADJ_OFFSET_BEFORE, htonl(v[1]));
  mnl_attr_put_u32(nlh, CTA_SEQADJ_OFFSET_AFTER, htonl(v[2]));
  mnl_attr_nest_end(nlh, nest);
}

void put_protoinfo(nlmsghdr* nlh, const CtRec& r, unsigned opts) {
  const uint32_t p = r.head.present;
  const uint8_t proto = r.orig.proto;
  if (proto == IPPROTO_TCP && (p & (CT_TCP_STATE | CT_TCP_WSCALE | CT_TCP_FLAGS) || opts & BUILD_LIBERAL)) {
    nlattr* info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    nlattr* tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
    if (p & CT_TCP_STATE) mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, r.tcp_state);
    if (p & CT_TCP_WSCALE) {
      mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, r.tcp_wscale_orig);
      mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_REPLY, r.tcp_wscale_repl);
    }
    uint8_t fo = p & CT_TCP_FLAGS ? r.tcp_flags_orig : 0;
    uint8_t fr = p & CT_TCP_FLAGS ? r.tcp_flags_repl : 0;
    if (opts & BUILD_LIBERAL) {
      fo |= kTcpBeLiberal;
      fr |= kTcpBeLiberal;
    }
    if (fo || fr) {
      // struct nf_ct_tcp_flags { u8 flags; u8 mask; }: set exactly the given bits.
      const uint8_t o[2] = {fo, fo}, rp[2] = {fr, fr};
      mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, 2, o);
      mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, 2, rp);
    }
    mnl_attr_nest_end(nlh, tcp);
    mnl_attr_nest_end(nlh, info);
  } else if (proto == IPPROTO_SCTP && (p & CT_SCTP_STATE)) {
    // The kernel wants state and both vtags together (nlattr_to_sctp).
    nlattr* info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    nlattr* sctp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_SCTP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_SCTP_STATE, r.sctp_state);
    mnl_attr_put_u32(nlh, CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, htonl(r.sctp_vtag_orig));
    mnl_attr_put_u32(nlh, CTA_PROTOINFO_SCTP_VTAG_REPLY, htonl(r.sctp_vtag_repl));
    mnl_attr_nest_end(nlh, sctp);
    mnl_attr_nest_end(nlh, info);
  } else if (proto == IPPROTO_DCCP && (p & CT_DCCP_STATE) && (p & CT_DCCP_ROLE)) {
    nlattr* info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    nlattr* dccp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_DCCP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_DCCP_STATE, r.dccp_state);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_DCCP_ROLE, r.dccp_role);
    mnl_attr_nest_end(nlh, dccp);
    mnl_attr_nest_end(nlh, info);
  }
}

// ---- parsing ----
// Inline, without libmnl's per-attribute callbacks: this runs on the reader thread for every
// kernel event. An attribute shorter than its type needs reads as zero, never past its end.

const uint8_t* payload(const nlattr* a) { return reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN; }
size_t payload_len(const nlattr* a) { return a->nla_len - NLA_HDRLEN; }

// The attributes in [start, start + len) by type; types above N are ignored.
template <int N>
struct Attrs {
  const nlattr* a[N + 1] = {};
  Attrs(const void* start, size_t len) {
    auto* p = static_cast<const uint8_t*>(start);
    while (len >= NLA_HDRLEN) {
      auto* at = reinterpret_cast<const nlattr*>(p);
      if (at->nla_len < NLA_HDRLEN || at->nla_len > len) break;
      const int type = at->nla_type & NLA_TYPE_MASK;
      if (type <= N) a[type] = at;
      const size_t step = NLA_ALIGN(at->nla_len);
      if (step >= len) break;
      p += step;
      len -= step;
    }
  }
  const nlattr* operator[](int i) const { return a[i]; }
};

template <int N>
Attrs<N> nested(const nlattr* nest) {
  return Attrs<N>(payload(nest), payload_len(nest));
}

template <int N>
Attrs<N> message_attrs(const nlmsghdr* nlh) {
  const size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  if (nlh->nlmsg_len < head) return Attrs<N>(nullptr, 0);
  return Attrs<N>(reinterpret_cast<const uint8_t*>(nlh) + head, nlh->nlmsg_len - head);
}

template <class T>
T raw(const nlattr* a) {
  T v{};
  if (payload_len(a) >= sizeof v) memcpy(&v, payload(a), sizeof v);
  return v;
}

uint8_t u8(const nlattr* a) { return raw<uint8_t>(a); }
uint16_t be16(const nlattr* a) { return ntohs(raw<uint16_t>(a)); }
uint32_t be32(const nlattr* a) { return ntohl(raw<uint32_t>(a)); }
uint64_t be64(const nlattr* a) { return be64toh(raw<uint64_t>(a)); }

// An address of n bytes; false if the attribute is shorter.
bool addr(uint8_t* dst, const nlattr* a, size_t n) {
  if (payload_len(a) < n) return false;
  memcpy(dst, payload(a), n);
  return true;
}

void copy_str(char* dst, size_t room, const nlattr* a) {
  const char* s = reinterpret_cast<const char*>(payload(a));
  const size_t n = strnlen(s, payload_len(a));
  const size_t len = n < room - 1 ? n : room - 1;
  memcpy(dst, s, len);
  dst[len] = 0;
}

bool parse_tuple(const nlattr* nest, TupleRec& t) {
  auto tb = nested<CTA_TUPLE_MAX>(nest);
  if (tb[CTA_TUPLE_IP]) {
    auto ip = nested<CTA_IP_MAX>(tb[CTA_TUPLE_IP]);
    if (ip[CTA_IP_V4_SRC] && ip[CTA_IP_V4_DST]) {
      if (addr(t.src, ip[CTA_IP_V4_SRC], 4) && addr(t.dst, ip[CTA_IP_V4_DST], 4)) t.family = AF_INET;
    } else if (ip[CTA_IP_V6_SRC] && ip[CTA_IP_V6_DST]) {
      if (addr(t.src, ip[CTA_IP_V6_SRC], 16) && addr(t.dst, ip[CTA_IP_V6_DST], 16)) t.family = AF_INET6;
    }
  }
  if (tb[CTA_TUPLE_PROTO]) {
    auto pr = nested<CTA_PROTO_MAX>(tb[CTA_TUPLE_PROTO]);
    if (pr[CTA_PROTO_NUM]) t.proto = u8(pr[CTA_PROTO_NUM]);
    if (pr[CTA_PROTO_SRC_PORT] && pr[CTA_PROTO_DST_PORT]) {
      t.flags |= TUP_PORTS;
      t.sport = be16(pr[CTA_PROTO_SRC_PORT]);
      t.dport = be16(pr[CTA_PROTO_DST_PORT]);
    }
    const bool v6 = pr[CTA_PROTO_ICMPV6_TYPE] != nullptr;
    const nlattr* type = v6 ? pr[CTA_PROTO_ICMPV6_TYPE] : pr[CTA_PROTO_ICMP_TYPE];
    if (type) {
      t.flags |= TUP_ICMP;
      t.icmp_type = u8(type);
      const nlattr* code = v6 ? pr[CTA_PROTO_ICMPV6_CODE] : pr[CTA_PROTO_ICMP_CODE];
      const nlattr* id = v6 ? pr[CTA_PROTO_ICMPV6_ID] : pr[CTA_PROTO_ICMP_ID];
      if (code) t.icmp_code = u8(code);
      if (id) t.icmp_id = be16(id);
    }
  }
  return t.family != 0;
}

void parse_counters(const nlattr* nest, uint64_t* out) {
  auto tb = nested<CTA_COUNTERS_MAX>(nest);
  if (tb[CTA_COUNTERS_PACKETS]) out[0] = be64(tb[CTA_COUNTERS_PACKETS]);
  if (tb[CTA_COUNTERS_BYTES]) out[1] = be64(tb[CTA_COUNTERS_BYTES]);
}

void parse_seqadj(const nlattr* nest, uint32_t* out) {
  auto tb = nested<CTA_SEQADJ_MAX>(nest);
  if (tb[CTA_SEQADJ_CORRECTION_POS]) out[0] = be32(tb[CTA_SEQADJ_CORRECTION_POS]);
  if (tb[CTA_SEQADJ_OFFSET_BEFORE]) out[1] = be32(tb[CTA_SEQADJ_OFFSET_BEFORE]);
  if (tb[CTA_SEQADJ_OFFSET_AFTER]) out[2] = be32(tb[CTA_SEQADJ_OFFSET_AFTER]);
}

void parse_protoinfo(const nlattr* nest, CtRec& r) {
  auto tb = nested<CTA_PROTOINFO_MAX>(nest);
  uint32_t& p = r.head.present;
  if (tb[CTA_PROTOINFO_TCP]) {
    auto tcp = nested<CTA_PROTOINFO_TCP_MAX>(tb[CTA_PROTOINFO_TCP]);
    if (tcp[CTA_PROTOINFO_TCP_STATE]) {
      p |= CT_TCP_STATE;
      r.tcp_state = u8(tcp[CTA_PROTOINFO_TCP_STATE]);
    }
    if (tcp[CTA_PROTOINFO_TCP_WSCALE_ORIGINAL] && tcp[CTA_PROTOINFO_TCP_WSCALE_REPLY]) {
      p |= CT_TCP_WSCALE;
      r.tcp_wscale_orig = u8(tcp[CTA_PROTOINFO_TCP_WSCALE_ORIGINAL]);
      r.tcp_wscale_repl = u8(tcp[CTA_PROTOINFO_TCP_WSCALE_REPLY]);
    }
    if (tcp[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL] && tcp[CTA_PROTOINFO_TCP_FLAGS_REPLY]) {
      p |= CT_TCP_FLAGS;
      r.tcp_flags_orig = u8(tcp[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL]);
      r.tcp_flags_repl = u8(tcp[CTA_PROTOINFO_TCP_FLAGS_REPLY]);
    }
  }
  if (tb[CTA_PROTOINFO_SCTP]) {
    auto sctp = nested<CTA_PROTOINFO_SCTP_MAX>(tb[CTA_PROTOINFO_SCTP]);
    if (sctp[CTA_PROTOINFO_SCTP_STATE]) {
      p |= CT_SCTP_STATE;
      r.sctp_state = u8(sctp[CTA_PROTOINFO_SCTP_STATE]);
    }
    if (sctp[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL] && sctp[CTA_PROTOINFO_SCTP_VTAG_REPLY]) {
      p |= CT_SCTP_VTAG;
      r.sctp_vtag_orig = be32(sctp[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL]);
      r.sctp_vtag_repl = be32(sctp[CTA_PROTOINFO_SCTP_VTAG_REPLY]);
    }
  }
  if (tb[CTA_PROTOINFO_DCCP]) {
    auto dccp = nested<CTA_PROTOINFO_DCCP_MAX>(tb[CTA_PROTOINFO_DCCP]);
    if (dccp[CTA_PROTOINFO_DCCP_STATE]) {
      p |= CT_DCCP_STATE;
      r.dccp_state = u8(dccp[CTA_PROTOINFO_DCCP_STATE]);
    }
    if (dccp[CTA_PROTOINFO_DCCP_ROLE]) {
      p |= CT_DCCP_ROLE;
      r.dccp_role = u8(dccp[CTA_PROTOINFO_DCCP_ROLE]);
    }
  }
}

void parse_ct(const nlmsghdr* nlh, CtRec& r) {
  const auto tb = message_attrs<CTA_MAX>(nlh);
  uint32_t& p = r.head.present;
  if (tb[CTA_TUPLE_ORIG] && parse_tuple(tb[CTA_TUPLE_ORIG], r.orig)) p |= CT_ORIG;
  if (tb[CTA_TUPLE_REPLY] && parse_tuple(tb[CTA_TUPLE_REPLY], r.reply)) p |= CT_REPLY;
  if (tb[CTA_TUPLE_MASTER] && parse_tuple(tb[CTA_TUPLE_MASTER], r.master)) p |= CT_MASTER;
  if (tb[CTA_STATUS]) { p |= CT_STATUS; r.status = be32(tb[CTA_STATUS]); }
  if (tb[CTA_TIMEOUT]) { p |= CT_TIMEOUT; r.timeout = be32(tb[CTA_TIMEOUT]); }
  if (tb[CTA_MARK]) { p |= CT_MARK; r.mark = be32(tb[CTA_MARK]); }
  if (tb[CTA_ZONE]) { p |= CT_ZONE; r.zone = be16(tb[CTA_ZONE]); }
  if (tb[CTA_ID]) { p |= CT_ID; r.id = be32(tb[CTA_ID]); }
  if (tb[CTA_USE]) { p |= CT_USE; r.use = be32(tb[CTA_USE]); }
  if (tb[CTA_SECMARK]) { p |= CT_SECMARK; r.secmark = be32(tb[CTA_SECMARK]); }
  if (tb[CTA_PROTOINFO]) parse_protoinfo(tb[CTA_PROTOINFO], r);
  if (tb[CTA_HELP]) {
    auto help = nested<CTA_HELP_MAX>(tb[CTA_HELP]);
    if (help[CTA_HELP_NAME]) {
      p |= CT_HELPER;
      copy_str(r.helper, sizeof r.helper, help[CTA_HELP_NAME]);
    }
  }
  if (tb[CTA_SEQ_ADJ_ORIG]) { p |= CT_SEQADJ_ORIG; parse_seqadj(tb[CTA_SEQ_ADJ_ORIG], r.seqadj_orig); }
  if (tb[CTA_SEQ_ADJ_REPLY]) { p |= CT_SEQADJ_REPL; parse_seqadj(tb[CTA_SEQ_ADJ_REPLY], r.seqadj_repl); }
  if (tb[CTA_LABELS]) {
    const size_t n = payload_len(tb[CTA_LABELS]);
    memcpy(r.labels, payload(tb[CTA_LABELS]), n < sizeof r.labels ? n : sizeof r.labels);
    for (uint32_t w : r.labels) {
      if (w) { p |= CT_LABELS; break; }
    }
  }
  if (tb[CTA_SYNPROXY]) {
    auto sp = nested<CTA_SYNPROXY_MAX>(tb[CTA_SYNPROXY]);
    if (sp[CTA_SYNPROXY_ISN] && sp[CTA_SYNPROXY_ITS] && sp[CTA_SYNPROXY_TSOFF]) {
      p |= CT_SYNPROXY;
      r.synproxy[0] = be32(sp[CTA_SYNPROXY_ISN]);
      r.synproxy[1] = be32(sp[CTA_SYNPROXY_ITS]);
      r.synproxy[2] = be32(sp[CTA_SYNPROXY_TSOFF]);
    }
  }
  if (tb[CTA_COUNTERS_ORIG] || tb[CTA_COUNTERS_REPLY]) {
    p |= CT_COUNTERS;
    if (tb[CTA_COUNTERS_ORIG]) parse_counters(tb[CTA_COUNTERS_ORIG], &r.counters[0]);
    if (tb[CTA_COUNTERS_REPLY]) parse_counters(tb[CTA_COUNTERS_REPLY], &r.counters[2]);
  }
}

void parse_exp(const nlmsghdr* nlh, ExpRec& r) {
  const auto tb = message_attrs<CTA_EXPECT_MAX>(nlh);
  uint32_t& p = r.head.present;
  if (tb[CTA_EXPECT_MASTER] && parse_tuple(tb[CTA_EXPECT_MASTER], r.master)) p |= EXP_MASTER;
  if (tb[CTA_EXPECT_TUPLE] && parse_tuple(tb[CTA_EXPECT_TUPLE], r.tuple)) p |= EXP_TUPLE;
  if (tb[CTA_EXPECT_MASK] && parse_tuple(tb[CTA_EXPECT_MASK], r.mask)) p |= EXP_MASK;
  if (tb[CTA_EXPECT_TIMEOUT]) { p |= EXP_TIMEOUT; r.timeout = be32(tb[CTA_EXPECT_TIMEOUT]); }
  if (tb[CTA_EXPECT_FLAGS]) { p |= EXP_FLAGS; r.flags = be32(tb[CTA_EXPECT_FLAGS]); }
  if (tb[CTA_EXPECT_CLASS]) { p |= EXP_CLASS; r.klass = be32(tb[CTA_EXPECT_CLASS]); }
  if (tb[CTA_EXPECT_ID]) { p |= EXP_ID; r.id = be32(tb[CTA_EXPECT_ID]); }
  if (tb[CTA_EXPECT_ZONE]) { p |= EXP_ZONE; r.zone = be16(tb[CTA_EXPECT_ZONE]); }
  if (tb[CTA_EXPECT_HELP_NAME]) { p |= EXP_HELPER; copy_str(r.helper, sizeof r.helper, tb[CTA_EXPECT_HELP_NAME]); }
  if (tb[CTA_EXPECT_FN]) { p |= EXP_FN; copy_str(r.fn, sizeof r.fn, tb[CTA_EXPECT_FN]); }
  if (tb[CTA_EXPECT_NAT]) {
    auto nat = nested<CTA_EXPECT_NAT_MAX>(tb[CTA_EXPECT_NAT]);
    if (nat[CTA_EXPECT_NAT_DIR] && nat[CTA_EXPECT_NAT_TUPLE] && parse_tuple(nat[CTA_EXPECT_NAT_TUPLE], r.nat_tuple)) {
      p |= EXP_NAT;
      r.nat_dir = be32(nat[CTA_EXPECT_NAT_DIR]);
    }
  }
}

}  // namespace

nlmsghdr* build_empty(void* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family) {
  return put_header(buf, type, flags, seq, family);
}

nlmsghdr* build_ct(void* buf, uint16_t type, uint16_t flags, uint32_t seq, const CtRec& r, unsigned opts) {
  nlmsghdr* nlh = put_header(buf, type, flags, seq, r.orig.family);
  const uint32_t p = r.head.present;
  put_tuple(nlh, CTA_TUPLE_ORIG, r.orig, false);
  if (p & CT_ZONE) mnl_attr_put_u16(nlh, CTA_ZONE, htons(r.zone));
  if (opts & BUILD_KEY) return nlh;
  if (opts & BUILD_CREATE) {
    // The kernel needs both tuples to create; the reply of a flow rebuilt from the wire is
    // the mirror of orig and the NAT ranges make the kernel rewrite it (spec §1.11).
    if (p & CT_REPLY && !(p & (CT_SNAT | CT_DNAT))) put_tuple(nlh, CTA_TUPLE_REPLY, r.reply, false);
    else put_tuple(nlh, CTA_TUPLE_REPLY, r.orig, true);
  }
  if (p & CT_STATUS) {
    // The kernel marks a created entry CONFIRMED before applying CTA_STATUS and answers EBUSY
    // to any change of EXPECTED, CONFIRMED or DYING; an update cannot change NAT (conntrackd's
    // nl_update_conntrack strips it, spec §1.11).
    uint32_t status = (r.status & ~uint32_t(IPS_EXPECTED | IPS_DYING)) | IPS_CONFIRMED;
    if (opts & BUILD_UPDATE) status &= ~uint32_t(IPS_NAT_MASK);
    mnl_attr_put_u32(nlh, CTA_STATUS, htonl(status));
  }
  if (p & CT_TIMEOUT) mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(r.timeout));
  if (p & CT_MARK) mnl_attr_put_u32(nlh, CTA_MARK, htonl(r.mark));
  put_protoinfo(nlh, r, opts);
  if (p & CT_SEQADJ_ORIG) put_seqadj(nlh, CTA_SEQ_ADJ_ORIG, r.seqadj_orig);
  if (p & CT_SEQADJ_REPL) put_seqadj(nlh, CTA_SEQ_ADJ_REPLY, r.seqadj_repl);
  if (p & CT_LABELS) mnl_attr_put(nlh, CTA_LABELS, sizeof r.labels, r.labels);
  if (p & CT_SYNPROXY) {
    nlattr* sp = mnl_attr_nest_start(nlh, CTA_SYNPROXY);
    mnl_attr_put_u32(nlh, CTA_SYNPROXY_ISN, htonl(r.synproxy[0]));
    mnl_attr_put_u32(nlh, CTA_SYNPROXY_ITS, htonl(r.synproxy[1]));
    mnl_attr_put_u32(nlh, CTA_SYNPROXY_TSOFF, htonl(r.synproxy[2]));
    mnl_attr_nest_end(nlh, sp);
  }
  if (opts & BUILD_CREATE) {
    if (p & CT_SNAT) put_nat(nlh, CTA_NAT_SRC, r.orig.family, r.snat);
    if (p & CT_DNAT) put_nat(nlh, CTA_NAT_DST, r.orig.family, r.dnat);
    if (p & CT_HELPER) {
      nlattr* help = mnl_attr_nest_start(nlh, CTA_HELP);
      mnl_attr_put_strz(nlh, CTA_HELP_NAME, r.helper);
      mnl_attr_nest_end(nlh, help);
    }
    if (p & CT_MASTER) put_tuple(nlh, CTA_TUPLE_MASTER, r.master, false);
  }
  return nlh;
}

nlmsghdr* build_exp(void* buf, uint16_t type, uint16_t flags, uint32_t seq, const ExpRec& r, bool key_only) {
  nlmsghdr* nlh = put_header(buf, type, flags, seq, r.tuple.family);
  const uint32_t p = r.head.present;
  put_tuple(nlh, CTA_EXPECT_TUPLE, r.tuple, false);
  if (p & EXP_ZONE) mnl_attr_put_u16(nlh, CTA_EXPECT_ZONE, htons(r.zone));
  if (key_only) return nlh;
  if (p & EXP_MASTER) put_tuple(nlh, CTA_EXPECT_MASTER, r.master, false);
  if (p & EXP_MASK) put_tuple(nlh, CTA_EXPECT_MASK, r.mask, false);
  if (p & EXP_TIMEOUT) mnl_attr_put_u32(nlh, CTA_EXPECT_TIMEOUT, htonl(r.timeout));
  if (p & EXP_FLAGS) mnl_attr_put_u32(nlh, CTA_EXPECT_FLAGS, htonl(r.flags));
  if (p & EXP_CLASS) mnl_attr_put_u32(nlh, CTA_EXPECT_CLASS, htonl(r.klass));
  if (p & EXP_HELPER) mnl_attr_put_strz(nlh, CTA_EXPECT_HELP_NAME, r.helper);
  if (p & EXP_FN) mnl_attr_put_strz(nlh, CTA_EXPECT_FN, r.fn);
  if (p & EXP_NAT) {
    nlattr* nat = mnl_attr_nest_start(nlh, CTA_EXPECT_NAT);
    mnl_attr_put_u32(nlh, CTA_EXPECT_NAT_DIR, htonl(r.nat_dir));
    put_tuple(nlh, CTA_EXPECT_NAT_TUPLE, r.nat_tuple, false);
    mnl_attr_nest_end(nlh, nat);
  }
  return nlh;
}

bool parse_msg(const nlmsghdr* nlh, uint8_t* slot) {
  const uint8_t subsys = NFNL_SUBSYS_ID(nlh->nlmsg_type);
  const uint8_t msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
  const bool created = (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) != 0;
  memset(slot, 0, kSlot);
  auto* head = reinterpret_cast<RecHead*>(slot);
  head->port_id = nlh->nlmsg_pid;
  if (subsys == NFNL_SUBSYS_CTNETLINK && (msg == IPCTNL_MSG_CT_NEW || msg == IPCTNL_MSG_CT_DELETE)) {
    head->kind = KIND_CT;
    head->event = msg == IPCTNL_MSG_CT_DELETE ? EV_DESTROY : created ? EV_NEW : EV_UPDATE;
    parse_ct(nlh, *reinterpret_cast<CtRec*>(slot));
    return true;
  }
  if (subsys == NFNL_SUBSYS_CTNETLINK_EXP && (msg == IPCTNL_MSG_EXP_NEW || msg == IPCTNL_MSG_EXP_DELETE)) {
    head->kind = KIND_EXP;
    head->event = msg == IPCTNL_MSG_EXP_DELETE ? EV_DESTROY : created ? EV_NEW : EV_UPDATE;
    parse_exp(nlh, *reinterpret_cast<ExpRec*>(slot));
    return true;
  }
  return false;
}

}  // namespace ctnl
