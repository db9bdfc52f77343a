#include "socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cstring>

#include "codec.h"

namespace ctnl {
namespace {

// Requests per sendmsg: the kernel handles a whole sendmsg before returning, and every answer
// of the chunk (errors, get replies: up to ~2 KiB of receive-buffer truesize each) must fit in
// the receive buffer meanwhile.
constexpr size_t kChunk = 1024;
constexpr int kReqBuf = 4 << 20;
constexpr size_t kRecvBuf = 1 << 16;
constexpr unsigned kRecvVec = 64;

uint16_t op_type(Op op) {
  switch (op) {
    case Op::Create:
    case Op::Update: return (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
    case Op::Delete: return (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
    case Op::Get: return (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    case Op::ExpCreate: return (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW;
    case Op::ExpDelete: return (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_DELETE;
    case Op::ExpGet: return (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET;
  }
  return 0;
}

// Writes answer nothing on success (no NLM_F_ACK): the kernel sends an error message only for
// the items that fail, and a barrier request closes each chunk (see exec_batch).
bool acked(Op op) { return op == Op::Get || op == Op::ExpGet; }

nlmsghdr* build_op(void* buf, Op op, uint32_t seq, const uint8_t* rec, unsigned opts) {
  const uint16_t type = op_type(op);
  const uint16_t ack = acked(op) ? NLM_F_ACK : 0;
  switch (op) {
    case Op::Create:
      return build_ct(buf, type, ack | NLM_F_CREATE | NLM_F_EXCL, seq, *reinterpret_cast<const CtRec*>(rec),
                      BUILD_CREATE | (opts & BUILD_LIBERAL));
    case Op::Update:
      return build_ct(buf, type, ack, seq, *reinterpret_cast<const CtRec*>(rec), BUILD_UPDATE | (opts & BUILD_LIBERAL));
    case Op::Delete:
    case Op::Get: return build_ct(buf, type, ack, seq, *reinterpret_cast<const CtRec*>(rec), BUILD_KEY);
    case Op::ExpCreate:
      return build_exp(buf, type, ack | NLM_F_CREATE | NLM_F_EXCL, seq, *reinterpret_cast<const ExpRec*>(rec), false);
    case Op::ExpDelete:
    case Op::ExpGet: return build_exp(buf, type, ack, seq, *reinterpret_cast<const ExpRec*>(rec), true);
  }
  return nullptr;
}

// Reads messages until `pending` reaches zero, calling `on` for each netlink message.
// Many datagrams per recvmmsg (MSG_WAITFORONE) to keep syscalls per ack low.
template <class F>
int read_until(NlSocket& s, size_t& pending, F on) {
  static thread_local std::vector<uint8_t> bufs(kRecvVec * 8192);
  mmsghdr msgs[kRecvVec];
  iovec iov[kRecvVec];
  while (pending > 0) {
    for (unsigned i = 0; i < kRecvVec; i++) {
      iov[i] = {bufs.data() + i * 8192, 8192};
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(s.fd(), msgs, kRecvVec, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (int i = 0; i < n; i++) {
      int len = static_cast<int>(msgs[i].msg_len);
      for (auto* nlh = static_cast<const nlmsghdr*>(iov[i].iov_base); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        on(nlh);
      }
    }
  }
  return 0;
}

}  // namespace

NlSocket::NlSocket(unsigned groups, int netns_fd) {
  if (netns_fd >= 0) {
    const int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) throw SysError{errno, "open(/proc/thread-self/ns/net)"};
    if (setns(netns_fd, CLONE_NEWNET) < 0) {
      const int err = errno;
      close(self);
      throw SysError{err, "setns"};
    }
    nl = mnl_socket_open(NETLINK_NETFILTER);
    const int err = errno;
    setns(self, CLONE_NEWNET);
    close(self);
    errno = err;
  } else {
    nl = mnl_socket_open(NETLINK_NETFILTER);
  }
  if (!nl) throw SysError{errno, "socket(NETLINK_NETFILTER)"};
  if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(nl);
    throw SysError{err, "bind"};
  }
}

NlSocket::~NlSocket() { mnl_socket_close(nl); }
int NlSocket::fd() const { return mnl_socket_get_fd(nl); }
uint32_t NlSocket::port_id() const { return mnl_socket_get_portid(nl); }

int NlSocket::set_rcvbuf(int bytes) {
  if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) {
    setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  return rcvbuf();
}

int NlSocket::rcvbuf() const {
  int v = 0;
  socklen_t len = sizeof v;
  getsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &v, &len);
  return v;
}

void NlSocket::set_flag(int option, int on) { setsockopt(fd(), SOL_NETLINK, option, &on, sizeof on); }

bool NlSocket::flag(int option) const {
  int v = 0;
  socklen_t len = sizeof v;
  return getsockopt(fd(), SOL_NETLINK, option, &v, &len) == 0 && v != 0;
}

uint32_t NlSocket::take_seqs(uint32_t n) { return seq_.fetch_add(n); }

int exec_batch(NlSocket& s, Op op, const uint8_t* recs, size_t count, unsigned opts, int32_t* results,
               uint8_t* out) {
  static thread_local std::vector<uint8_t> sendbuf((kChunk + 1) * kMaxMsg);
  for (size_t base = 0; base < count; base += kChunk) {
    const size_t n = count - base < kChunk ? count - base : kChunk;
    // Unique on this socket: an answer left over from an aborted batch, on whatever thread,
    // never falls in this chunk's range.
    const uint32_t seq0 = s.take_seqs(n + 1);
    const bool each = acked(op);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
      results[base + i] = each ? -1 : 0;  // -1: no answer yet
      nlmsghdr* nlh = build_op(sendbuf.data() + len, op, seq0 + i, recs + (base + i) * kSlot, opts);
      len += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    // Barrier: the kernel handles the messages of one sendmsg in order, so once this request
    // is acknowledged every error of the chunk has been queued before it.
    const uint32_t barrier = seq0 + n;
    if (!each) {
      nlmsghdr* nlh = build_empty(sendbuf.data() + len, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS,
                                  NLM_F_ACK, barrier, AF_UNSPEC);
      len += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    if (mnl_socket_sendto(s.nl, sendbuf.data(), len) < 0) return errno;
    size_t pending = each ? n : 1;
    const int err = read_until(s, pending, [&](const nlmsghdr* nlh) {
      const uint32_t idx = nlh->nlmsg_seq - seq0;
      if (!each && idx == n) {
        if (nlh->nlmsg_type == NLMSG_ERROR) pending = 0;
        return;
      }
      if (idx >= n) return;  // a stale answer of an earlier chunk
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (results[base + idx] == -1) pending--;
        results[base + idx] = -e->error;
      } else if (out && nlh->nlmsg_type != NLMSG_DONE) {
        parse_msg(nlh, out + (base + idx) * kSlot);
      }
    });
    if (err) return err;
  }
  return 0;
}

int exec_simple(NlSocket& s, uint16_t type, uint8_t family, uint32_t* entries) {
  uint8_t buf[256];
  const uint32_t seq = s.take_seqs(1);
  nlmsghdr* req = build_empty(buf, type, NLM_F_ACK, seq, family);
  if (mnl_socket_sendto(s.nl, req, req->nlmsg_len) < 0) return errno;
  size_t pending = 1;
  int result = 0;
  const int err = read_until(s, pending, [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_seq != seq) return;
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      result = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
      pending = 0;
    } else if (entries) {
      mnl_attr_parse(nlh, sizeof(nfgenmsg), [](const nlattr* attr, void* data) {
        if (mnl_attr_get_type(attr) == CTA_STATS_GLOBAL_ENTRIES) *static_cast<uint32_t*>(data) = ntohl(mnl_attr_get_u32(attr));
        return MNL_CB_OK;
      }, entries);
    }
  });
  return err ? err : result;
}

int dump(NlSocket& s, bool exp, uint8_t family, const std::function<bool(const nlmsghdr*)>& on_msg) {
  uint8_t req[64];
  const uint16_t type = exp ? (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET
                            : (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  const uint32_t seq = s.take_seqs(1);
  nlmsghdr* nlh = build_empty(req, type, NLM_F_DUMP, seq, family);
  if (mnl_socket_sendto(s.nl, nlh, nlh->nlmsg_len) < 0) return errno;
  std::vector<uint8_t> buf(kRecvBuf * 4);
  for (;;) {
    const ssize_t len = mnl_socket_recvfrom(s.nl, buf.data(), buf.size());
    if (len < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    int rest = static_cast<int>(len);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, rest); m = mnl_nlmsg_next(m, &rest)) {
      if (m->nlmsg_seq != seq) continue;
      if (m->nlmsg_type == NLMSG_DONE) return 0;
      if (m->nlmsg_type == NLMSG_ERROR) return -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m))->error;
      if (!on_msg(m)) return ECANCELED;
    }
  }
}

}  // namespace ctnl
