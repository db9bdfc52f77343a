// N-API surface of the ctnetlink addon: a request handle (single and batched operations,
// dumps, flush) and event readers. Records cross the boundary as kSlot-byte slots
// (record.h); JS packs and unpacks them with the exported `layout`.
#include <napi.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <pthread.h>
#include <sched.h>

#include "codec.h"
#include "dgram.h"
#include "record.h"
#include "socket.h"

namespace ctnl {
namespace {

constexpr int kBatchSockBuf = 8 << 20;

Napi::Error sys_error(Napi::Env env, const SysError& e) {
  Napi::Error err = Napi::Error::New(env, std::string(e.what) + ": " + strerror(e.err));
  err.Set("errno", Napi::Number::New(env, e.err));
  err.Set("syscall", Napi::String::New(env, e.what));
  return err;
}

void tune_request_socket(NlSocket& s) {
  s.set_flag(NETLINK_CAP_ACK, 1);  // acks without a copy of the request: 36 bytes each
  s.set_rcvbuf(kBatchSockBuf);
  int snd = kBatchSockBuf;
  if (setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0) {
    setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  }
}

// The namespace a handle works in: a path such as /run/netns/NAME, or none (the caller's).
struct NetnsFd {
  int fd = -1;
  explicit NetnsFd(const Napi::Value& path) {
    if (!path.IsString()) return;
    fd = open(path.As<Napi::String>().Utf8Value().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw SysError{errno, "open(netns)"};
  }
  ~NetnsFd() {
    if (fd >= 0) close(fd);
  }
  NetnsFd(const NetnsFd&) = delete;
  NetnsFd& operator=(const NetnsFd&) = delete;
};

// One unit handed from a reader thread to JS: a batch of records and/or an overrun count,
// or the end of the stream.
struct Delivery {
  std::vector<uint8_t> data;
  uint32_t count = 0;
  uint32_t overruns = 0;
  bool done = false;
  int err = 0;
};

// A thread that produces Deliveries and a thread-safe function that calls JS with them.
// Dumps hand over one Delivery per batch (`deliver`, which waits when kMaxDeliveries are
// queued: the kernel holds a dump until it is read). Events are coalesced instead (`offer`):
// while JS has not taken the pending batches, new ones queue behind them for the same call,
// so a burst faster than JS (e.g. `conntrack -R` at 200k+ entries/s) costs one thread hop per
// turn of its event loop, not one per read, and waits here rather than in the socket buffer. Only a JS
// side that stays slower than the kernel until kMaxPending records wait backs up into the
// socket, and the kernel then reports an overrun, as for conntrackd's event socket.
constexpr size_t kMaxDeliveries = 1024;
constexpr uint32_t kMaxPending = 1 << 18;
struct Stream {
  Napi::ThreadSafeFunction tsfn;
  std::thread thread;
  std::atomic<bool> stopped{false};
  int stop_fd = -1;
  std::unique_ptr<NlSocket> sock;

  // Events waiting for JS (owned here until `take` hands them over), how many records they
  // hold, and whether a `take` is queued.
  std::mutex mu;
  std::condition_variable room;
  std::vector<Delivery*> pending;
  size_t pending_records = 0;
  bool scheduled = false;

  void deliver(Delivery* d) {
    if (tsfn.BlockingCall(d, &Stream::call_js) != napi_ok) delete d;
  }

  // Events path: queue `d` behind what JS has not taken yet (no copy), with one `take` queued
  // for all of it; waits while over kMaxPending records wait (until JS takes them, or stop).
  void offer(Delivery* d) {
    std::unique_lock<std::mutex> lock(mu);
    pending.push_back(d);
    pending_records += d->count;
    if (!scheduled) {
      scheduled = true;
      if (tsfn.NonBlockingCall(this, &Stream::take) != napi_ok) scheduled = false;
    }
    room.wait(lock, [this] { return pending_records < kMaxPending || stopped.load(); });
  }

  static void take(Napi::Env env, Napi::Function fn, Stream* self) {
    std::vector<Delivery*> batch;
    {
      std::lock_guard<std::mutex> lock(self->mu);
      batch.swap(self->pending);
      self->pending_records = 0;
      self->scheduled = false;
    }
    self->room.notify_all();
    for (Delivery* d : batch) call_js(env, fn, d);
  }

  // Wakes a reader waiting for room, so that it sees `stopped`.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopped.store(true);
    }
    room.notify_all();
  }

  ~Stream() {
    for (Delivery* d : pending) delete d;
    if (stop_fd >= 0) close(stop_fd);
  }

  static void call_js(Napi::Env env, Napi::Function fn, Delivery* d) {
    std::unique_ptr<Delivery> owned(d);
    if (!env || !fn) return;
    Napi::Value buf = env.Null();
    if (d->count) {
      auto* vec = new std::vector<uint8_t>(std::move(d->data));
      buf = Napi::Buffer<uint8_t>::New(env, vec->data(), vec->size(),
                                       [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, vec);
    }
    fn.Call({buf, Napi::Number::New(env, d->count), Napi::Number::New(env, d->overruns),
             Napi::Boolean::New(env, d->done), Napi::Number::New(env, d->err)});
  }

  // Starts `body` on its own thread; the stream lives until the thread has ended and JS has
  // seen the last delivery.
  static void start(Napi::Env env, std::shared_ptr<Stream> self, Napi::Function cb, const char* name,
                    std::function<void(Stream&)> body) {
    // Runs on the JS thread once the reader has released the function: the socket is closed
    // here (leaving the multicast groups at once, so a stopped reliable reader cannot make the
    // kernel hold back events), not when the JS wrapper is garbage-collected.
    self->tsfn = Napi::ThreadSafeFunction::New(env, cb, name, kMaxDeliveries, 1, [self](Napi::Env) {
      if (self->thread.joinable()) self->thread.join();
      self->sock.reset();
    });
    self->thread = std::thread([self, body] {
      body(*self);
      self->tsfn.Release();
    });
  }
};

// ---- event reader ----

void read_events(Stream& st, size_t batch) {
  // conntrackd runs at SCHED_RR maximum priority by default (spec §5.3) so that a burst of
  // kernel events never waits for the CPU; only this reader thread gets it here, the JS thread
  // stays normal. Best effort: without CAP_SYS_NICE the thread keeps its normal policy.
  sched_param sp{};
  sp.sched_priority = sched_get_priority_max(SCHED_RR);
  pthread_setschedparam(pthread_self(), SCHED_RR, &sp);
  constexpr unsigned kVec = 64;
  constexpr size_t kMsg = 8192;
  constexpr long kGatherNs = 200000;
  std::vector<uint8_t> bufs(kVec * kMsg);
  mmsghdr msgs[kVec];
  iovec iov[kVec];
  // Capacity for a full batch, but only the slots in use are touched: a quiet table delivers
  // one event at a time without zeroing a whole batch for it.
  auto fresh = [&] {
    auto* d = new Delivery{};
    d->data.reserve(batch * kSlot);
    return d;
  };
  Delivery* d = fresh();
  const int fd = st.sock->fd();
  pollfd pfd[2] = {{fd, POLLIN, 0}, {st.stop_fd, POLLIN, 0}};
  while (!st.stopped.load()) {
    if (poll(pfd, 2, -1) < 0 && errno != EINTR) break;
    if (pfd[1].revents) break;
    size_t got = 0;
    for (;;) {
      for (unsigned i = 0; i < kVec; i++) {
        iov[i] = {bufs.data() + i * kMsg, kMsg};
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(fd, msgs, kVec, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {  // the kernel dropped events: an overrun (spec §7)
          d->overruns++;
          continue;
        }
        if (errno == EAGAIN) break;
        d->done = true;
        d->err = errno;
        st.deliver(d);
        return;
      }
      got += static_cast<size_t>(n);
      for (int i = 0; i < n; i++) {
        int len = static_cast<int>(msgs[i].msg_len);
        for (auto* nlh = static_cast<const nlmsghdr*>(iov[i].iov_base); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
          d->data.resize((d->count + 1) * kSlot);
          if (parse_msg(nlh, d->data.data() + d->count * kSlot) && ++d->count == batch) {
            st.offer(d);
            d = fresh();
          }
        }
      }
    }
    if (d->count || d->overruns) {
      d->data.resize(d->count * kSlot);
      st.offer(d);
      d = fresh();
    }
    // A wake that found only a few datagrams: let events gather for a moment, so that a steady
    // stream costs one poll/recvmmsg round per many events (the socket buffer holds thousands
    // of events; kGatherNs of them is a few dozen even at the kernel's top rate).
    if (got < kVec) {
      const timespec gather{0, kGatherNs};
      nanosleep(&gather, nullptr);
    }
  }
  delete d;
}

class EventReader : public Napi::ObjectWrap<EventReader> {
 public:
  static Napi::FunctionReference ctor;

  static void Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "EventReader",
                                   {InstanceMethod<&EventReader::Close>("close"),
                                    InstanceMethod<&EventReader::SetRcvBuf>("setRcvBuf"),
                                    InstanceMethod<&EventReader::GetRcvBuf>("getRcvBuf"),
                                    InstanceMethod<&EventReader::PortId>("portId")});
    ctor = Napi::Persistent(f);
  }

  // new EventReader(groups, reliable, rcvbuf, batch, onDelivery, netnsPath)
  explicit EventReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventReader>(info) {
    Napi::Env env = info.Env();
    const unsigned groups = info[0].As<Napi::Number>().Uint32Value();
    const bool reliable = info[1].As<Napi::Boolean>().Value();
    const int rcvbuf = info[2].As<Napi::Number>().Int32Value();
    const size_t batch = info[3].As<Napi::Number>().Uint32Value();
    stream_ = std::make_shared<Stream>();
    try {
      NetnsFd ns(info[5]);
      stream_->sock = std::make_unique<NlSocket>(groups, ns.fd);
    } catch (const SysError& e) {
      sys_error(env, e).ThrowAsJavaScriptException();
      return;
    }
    if (reliable) {
      // NetlinkEventsReliable (spec §7): delivery failures go back to the kernel, which
      // retries DESTROY events, instead of a silent ENOBUFS on this socket.
      stream_->sock->set_flag(NETLINK_BROADCAST_ERROR, 1);
      stream_->sock->set_flag(NETLINK_NO_ENOBUFS, 1);
    }
    if (rcvbuf > 0) stream_->sock->set_rcvbuf(rcvbuf);
    stream_->stop_fd = eventfd(0, EFD_CLOEXEC);
    port_ = stream_->sock->port_id();
    Stream::start(env, stream_, info[4].As<Napi::Function>(), "ctnl-events",
                  [batch](Stream& st) { read_events(st, batch); });
  }

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (stream_ && !stream_->stopped.load()) {
      stream_->stop();
      const uint64_t one = 1;
      if (write(stream_->stop_fd, &one, sizeof one) < 0) { /* the thread also checks `stopped` */ }
    }
    return info.Env().Undefined();
  }

  Napi::Value SetRcvBuf(const Napi::CallbackInfo& info) {
    if (!stream_->sock) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), stream_->sock->set_rcvbuf(info[0].As<Napi::Number>().Int32Value()));
  }

  Napi::Value GetRcvBuf(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), stream_->sock ? stream_->sock->rcvbuf() : 0);
  }

  Napi::Value PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

  std::shared_ptr<Stream> stream_;
  uint32_t port_ = 0;
};

Napi::FunctionReference EventReader::ctor;

// ---- request handle ----

// Runs a blocking task on the libuv pool and calls back with (errno).
class TaskWorker : public Napi::AsyncWorker {
 public:
  TaskWorker(Napi::Function cb, std::function<int()> task, std::vector<Napi::Value> keep)
      : Napi::AsyncWorker(cb, "ctnl-task"), task_(std::move(task)) {
    for (auto& v : keep) keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  void Execute() override { err_ = task_(); }
  void OnOK() override { Callback().Call({Napi::Number::New(Env(), err_)}); }

 private:
  std::function<int()> task_;
  std::vector<Napi::ObjectReference> keep_;
  int err_ = 0;
};

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Handle",
                       {InstanceMethod<&Handle::PortIds>("portIds"), InstanceMethod<&Handle::Exec>("exec"),
                        InstanceMethod<&Handle::ExecBatch>("execBatch"), InstanceMethod<&Handle::Flush>("flush"),
                        InstanceMethod<&Handle::Count>("count"), InstanceMethod<&Handle::Dump>("dump"),
                        InstanceMethod<&Handle::Close>("close")});
  }

  // new Handle(netnsPath?)
  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
    try {
      ns_ = std::make_shared<NetnsFd>(info[0]);
      req_ = std::make_shared<NlSocket>(0, ns_->fd);
      batch_ = std::make_shared<NlSocket>(0, ns_->fd);
    } catch (const SysError& e) {
      sys_error(info.Env(), e).ThrowAsJavaScriptException();
      return;
    }
    tune_request_socket(*req_);
    tune_request_socket(*batch_);
  }

 private:
  bool closed(const Napi::CallbackInfo& info) {
    if (req_) return false;
    Napi::Error::New(info.Env(), "the ctnetlink handle is closed").ThrowAsJavaScriptException();
    return true;
  }

  Napi::Value PortIds(const Napi::CallbackInfo& info) {
    if (closed(info)) return info.Env().Undefined();
    Napi::Array a = Napi::Array::New(info.Env(), 2);
    a[0u] = req_->port_id();
    a[1u] = batch_->port_id();
    return a;
  }

  // exec(op, records, opts, out|null) -> errno of the single item in slot 0.
  Napi::Value Exec(const Napi::CallbackInfo& info) {
    if (closed(info)) return info.Env().Undefined();
    const auto op = static_cast<Op>(info[0].As<Napi::Number>().Int32Value());
    auto recs = info[1].As<Napi::Buffer<uint8_t>>();
    const unsigned opts = info[2].As<Napi::Number>().Uint32Value();
    uint8_t* out = info[3].IsBuffer() ? info[3].As<Napi::Buffer<uint8_t>>().Data() : nullptr;
    int32_t result = 0;
    const int err = exec_batch(*req_, op, recs.Data(), 1, opts, &result, out);
    return Napi::Number::New(info.Env(), err ? err : result);
  }

  // execBatch(op, records, count, opts, results Int32Array, out|null, cb(errno))
  Napi::Value ExecBatch(const Napi::CallbackInfo& info) {
    if (closed(info)) return info.Env().Undefined();
    const auto op = static_cast<Op>(info[0].As<Napi::Number>().Int32Value());
    auto recs = info[1].As<Napi::Buffer<uint8_t>>();
    const size_t count = info[2].As<Napi::Number>().Uint32Value();
    const unsigned opts = info[3].As<Napi::Number>().Uint32Value();
    auto results = info[4].As<Napi::Int32Array>();
    uint8_t* out = info[5].IsBuffer() ? info[5].As<Napi::Buffer<uint8_t>>().Data() : nullptr;
    uint8_t* data = recs.Data();
    int32_t* res = results.Data();
    auto sock = batch_;
    auto lock = batch_lock_;
    std::vector<Napi::Value> keep{recs, results};
    if (out) keep.push_back(info[5]);
    (new TaskWorker(info[6].As<Napi::Function>(), [=] {
      std::lock_guard<std::mutex> g(*lock);
      return exec_batch(*sock, op, data, count, opts, res, out);
    }, keep))->Queue();
    return info.Env().Undefined();
  }

  // flush(exp, cb(errno)): IPCTNL_MSG_CT_DELETE / EXP_DELETE without a tuple empties the table.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (closed(info)) return info.Env().Undefined();
    const bool exp = info[0].As<Napi::Boolean>().Value();
    const uint16_t type = exp ? (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_DELETE
                              : (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
    auto sock = batch_;
    auto lock = batch_lock_;
    (new TaskWorker(info[1].As<Napi::Function>(), [=] {
      std::lock_guard<std::mutex> g(*lock);
      return exec_simple(*sock, type, AF_UNSPEC, nullptr);
    }, {}))->Queue();
    return info.Env().Undefined();
  }

  // count() -> number of entries, or -errno (IPCTNL_MSG_CT_GET_STATS; also the permission probe).
  Napi::Value Count(const Napi::CallbackInfo& info) {
    if (closed(info)) return info.Env().Undefined();
    uint32_t entries = 0;
    const int err = exec_simple(*req_, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS, AF_UNSPEC, &entries);
    return Napi::Number::New(info.Env(), err ? -err : static_cast<double>(entries));
  }

  // dump(exp, family, batch, onDelivery): a fresh socket per dump, read on its own thread.
  Napi::Value Dump(const Napi::CallbackInfo& info) {
    if (closed(info)) return info.Env().Undefined();
    Napi::Env env = info.Env();
    const bool exp = info[0].As<Napi::Boolean>().Value();
    const uint8_t family = static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value());
    const size_t batch = info[2].As<Napi::Number>().Uint32Value();
    auto st = std::make_shared<Stream>();
    try {
      st->sock = std::make_unique<NlSocket>(0, ns_->fd);
    } catch (const SysError& e) {
      sys_error(env, e).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    st->sock->set_rcvbuf(kBatchSockBuf);
    Stream::start(env, st, info[3].As<Napi::Function>(), "ctnl-dump", [exp, family, batch](Stream& s) {
      const int err = dump(*s.sock, exp, family, batch, [&s](std::vector<uint8_t>&& data, uint32_t n) {
        s.deliver(new Delivery{std::move(data), n});
      });
      auto* end = new Delivery{};
      end->done = true;
      end->err = err;
      s.deliver(end);
    });
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    req_.reset();
    batch_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<NetnsFd> ns_;
  std::shared_ptr<NlSocket> req_, batch_;
  std::shared_ptr<std::mutex> batch_lock_ = std::make_shared<std::mutex>();
};

// ---- layout export ----

#define OFF(obj, T, f) obj.Set(#f, Napi::Number::New(env, offsetof(T, f)))

Napi::Object layout(Napi::Env env) {
  Napi::Object l = Napi::Object::New(env);
  l.Set("slot", Napi::Number::New(env, kSlot));
  Napi::Object head = Napi::Object::New(env);
  OFF(head, RecHead, present); OFF(head, RecHead, kind); OFF(head, RecHead, event); OFF(head, RecHead, port_id);
  l.Set("head", head);
  Napi::Object tup = Napi::Object::New(env);
  OFF(tup, TupleRec, family); OFF(tup, TupleRec, proto); OFF(tup, TupleRec, flags); OFF(tup, TupleRec, icmp_type);
  OFF(tup, TupleRec, icmp_code); OFF(tup, TupleRec, icmp_id); OFF(tup, TupleRec, sport); OFF(tup, TupleRec, dport);
  OFF(tup, TupleRec, src); OFF(tup, TupleRec, dst);
  l.Set("tuple", tup);
  Napi::Object nat = Napi::Object::New(env);
  OFF(nat, NatRec, addr); OFF(nat, NatRec, port); OFF(nat, NatRec, has_port);
  l.Set("nat", nat);
  Napi::Object ct = Napi::Object::New(env);
  OFF(ct, CtRec, orig); OFF(ct, CtRec, reply); OFF(ct, CtRec, master); OFF(ct, CtRec, status);
  OFF(ct, CtRec, timeout); OFF(ct, CtRec, mark); OFF(ct, CtRec, zone); OFF(ct, CtRec, tcp_state);
  OFF(ct, CtRec, tcp_wscale_orig); OFF(ct, CtRec, tcp_wscale_repl); OFF(ct, CtRec, tcp_flags_orig);
  OFF(ct, CtRec, tcp_flags_repl); OFF(ct, CtRec, sctp_state); OFF(ct, CtRec, dccp_state); OFF(ct, CtRec, dccp_role);
  OFF(ct, CtRec, sctp_vtag_orig); OFF(ct, CtRec, sctp_vtag_repl); OFF(ct, CtRec, snat); OFF(ct, CtRec, dnat);
  OFF(ct, CtRec, seqadj_orig); OFF(ct, CtRec, seqadj_repl); OFF(ct, CtRec, helper); OFF(ct, CtRec, labels);
  OFF(ct, CtRec, synproxy); OFF(ct, CtRec, id); OFF(ct, CtRec, use); OFF(ct, CtRec, secmark); OFF(ct, CtRec, counters);
  l.Set("ct", ct);
  Napi::Object exp = Napi::Object::New(env);
  OFF(exp, ExpRec, master); OFF(exp, ExpRec, tuple); OFF(exp, ExpRec, mask); OFF(exp, ExpRec, nat_tuple);
  OFF(exp, ExpRec, timeout); OFF(exp, ExpRec, flags); OFF(exp, ExpRec, klass); OFF(exp, ExpRec, nat_dir);
  OFF(exp, ExpRec, id); OFF(exp, ExpRec, zone); OFF(exp, ExpRec, helper); OFF(exp, ExpRec, fn);
  l.Set("exp", exp);
  return l;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EventReader::Init(env);
  exports.Set("Handle", Handle::Init(env));
  exports.Set("EventReader", EventReader::ctor.Value());
  exports.Set("layout", layout(env));
  exports.Set("openDatagram", Napi::Function::New(env, OpenDatagram));
  return exports;
}

}  // namespace
}  // namespace ctnl

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ctnl::Init(env, exports); }

NODE_API_MODULE(ctnetlink, InitAddon)
