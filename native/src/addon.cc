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

#include <algorithm>
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
#include "memory.h"
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

// A block of record slots a reader thread fills and JS reads during one callback. Blocks are
// reused: on this kind of VM a fresh page costs ~15 µs to fault in (more than decoding a dozen
// events), so the reader never allocates per wake. JS sees a block through one Buffer made the
// first time the block is delivered; that Buffer owns the memory from then on.
struct Chunk {
  explicit Chunk(size_t slots) : data(new uint8_t[slots * kSlot]), capacity(slots) {}
  ~Chunk() {
    if (!js_owned) delete[] data;
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;

  uint8_t* slot(size_t i) { return data + i * kSlot; }

  Napi::Value view(Napi::Env env) {
    if (buffer.IsEmpty()) {
      js_owned = true;
      buffer = Napi::Persistent(Napi::Buffer<uint8_t>::New(env, data, capacity * kSlot, [](Napi::Env, uint8_t* p) { delete[] p; }));
    }
    return buffer.Value();
  }

  uint8_t* const data;
  const size_t capacity;
  uint32_t count = 0;
  bool js_owned = false;
  Napi::Reference<Napi::Buffer<uint8_t>> buffer;
};

// A reader thread (events or a dump) and the thread-safe function that hands its chunks to JS.
// Filled chunks queue in `pending` behind the ones JS has not taken yet, with one `take` queued
// for all of them, so a burst faster than JS (e.g. `conntrack -R` at 200k+ entries/s) costs one
// thread hop per turn of the event loop and waits here rather than in the socket buffer. Only a
// JS side that stays slower than the kernel until `max_chunks` are filled backs up into the
// socket: the kernel then reports an overrun (events), or holds the dump until it is read.
constexpr uint32_t kMaxPending = 1 << 18;  // event records waiting for JS before the socket backs up
constexpr size_t kDumpChunks = 8;           // a dump waits for JS sooner: the kernel holds it meanwhile
constexpr size_t kKeepFree = 8;             // spare chunks kept after a burst; more are given back
struct Stream {
  Stream(size_t chunk_slots, size_t max_chunks) : chunk_slots(chunk_slots), max_chunks(max_chunks) {}

  Napi::ThreadSafeFunction tsfn;
  std::thread thread;
  std::atomic<bool> stopped{false};
  int stop_fd = -1;
  std::unique_ptr<NlSocket> sock;
  const size_t chunk_slots;
  const size_t max_chunks;

  std::mutex mu;
  std::condition_variable room;
  std::vector<Chunk*> free_chunks;  // LIFO: the last one returned is warm in the cache
  std::vector<Chunk*> pending;      // filled, in order, waiting for JS
  std::vector<Chunk*> delivering;   // JS thread only: the batch of the running `take`
  size_t live = 0;                  // chunks in existence
  uint32_t overruns = 0;
  bool done = false;
  int err = 0;
  bool scheduled = false;

  // Reader: an empty chunk; waits while max_chunks are in use. nullptr once stopped.
  Chunk* acquire() {
    std::unique_lock<std::mutex> lock(mu);
    room.wait(lock, [this] { return !free_chunks.empty() || live < max_chunks || stopped.load(); });
    if (stopped.load()) return nullptr;
    if (!free_chunks.empty()) {
      Chunk* c = free_chunks.back();
      free_chunks.pop_back();
      return c;
    }
    live++;
    return new Chunk(chunk_slots);
  }

  // Reader: whether JS has taken everything offered so far.
  bool drained() {
    std::lock_guard<std::mutex> lock(mu);
    return pending.empty();
  }

  // Reader: hands a filled chunk to JS (no copy).
  void offer(Chunk* c) {
    std::lock_guard<std::mutex> lock(mu);
    pending.push_back(c);
    schedule();
  }

  // Reader: the kernel dropped events (ENOBUFS): reported as their own delivery.
  void overrun() {
    std::lock_guard<std::mutex> lock(mu);
    overruns++;
    schedule();
  }

  // Reader: the end of the stream (err 0: a complete dump).
  void finish(int e) {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    err = e;
    schedule();
  }

  // Wakes a reader waiting for room, so that it sees `stopped`.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopped.store(true);
    }
    room.notify_all();
  }

  // Under `mu`: one `take` for everything pending. When the function is closing (the
  // environment is going away) nobody will take again: the reader stops.
  void schedule() {
    if (scheduled) return;
    scheduled = true;
    if (tsfn.NonBlockingCall(this, &Stream::take) != napi_ok) {
      scheduled = false;
      stopped.store(true);
      room.notify_all();
    }
  }

  // JS thread: a chunk JS is done with goes back to the pool (or away, past kKeepFree).
  void release(Chunk* c) {
    c->count = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (free_chunks.size() < kKeepFree) {
        free_chunks.push_back(c);
        c = nullptr;
      } else {
        live--;
      }
    }
    room.notify_all();
    if (c) {
      c->buffer.Reset();
      delete c;
    }
  }

  // JS thread: calls JS with every pending chunk, then the overruns, then the end, as
  // fn(records|null, count, overruns, done, errno). A chunk is valid during its call only.
  static void take(Napi::Env env, Napi::Function fn, Stream* self) {
    uint32_t ov;
    bool fin;
    int e;
    {
      std::lock_guard<std::mutex> lock(self->mu);
      self->delivering.swap(self->pending);
      ov = self->overruns;
      self->overruns = 0;
      fin = self->done;
      self->done = false;
      e = self->err;
      self->scheduled = false;
    }
    std::unique_ptr<Napi::Error> thrown;
    auto call = [&](std::initializer_list<napi_value> args) {
      try {
        fn.Call(args);
      } catch (const Napi::Error& x) {  // delivered on, then rethrown: no chunk is lost
        if (!thrown) thrown = std::make_unique<Napi::Error>(x);
      }
    };
    if (!env || !fn) {  // the environment is going away: nothing to call
      for (Chunk* c : self->delivering) self->release(c);
      self->delivering.clear();
      return;
    }
    const Napi::Value none = env.Null();
    for (Chunk* c : self->delivering) {
      call({c->view(env), Napi::Number::New(env, c->count), Napi::Number::New(env, 0), Napi::Boolean::New(env, false),
            Napi::Number::New(env, 0)});
      self->release(c);
    }
    self->delivering.clear();
    if (ov) call({none, Napi::Number::New(env, 0), Napi::Number::New(env, ov), Napi::Boolean::New(env, false), Napi::Number::New(env, 0)});
    if (fin) call({none, Napi::Number::New(env, 0), Napi::Number::New(env, 0), Napi::Boolean::New(env, true), Napi::Number::New(env, e)});
    if (thrown) thrown->ThrowAsJavaScriptException();
  }

  ~Stream() {
    for (Chunk* c : free_chunks) delete c;
    for (Chunk* c : pending) delete c;
    if (stop_fd >= 0) close(stop_fd);
  }

  // Starts `body` on its own thread; the stream lives until the thread has ended and JS has
  // seen the last delivery.
  static void start(Napi::Env env, std::shared_ptr<Stream> self, Napi::Function cb, const char* name,
                    std::function<void(Stream&)> body) {
    // Runs on the JS thread once the reader has released the function: the socket is closed
    // here (leaving the multicast groups at once, so a stopped reliable reader cannot make the
    // kernel hold back events), not when the JS wrapper is garbage-collected. JS references
    // are dropped here too, on the thread that owns them.
    self->tsfn = Napi::ThreadSafeFunction::New(env, cb, name, 0, 1, [self](Napi::Env) {
      if (self->thread.joinable()) self->thread.join();
      self->sock.reset();
      std::lock_guard<std::mutex> lock(self->mu);
      for (Chunk* c : self->free_chunks) c->buffer.Reset();
      for (Chunk* c : self->pending) c->buffer.Reset();
    });
    self->thread = std::thread([self, body, name] {
      pthread_setname_np(pthread_self(), name);
      body(*self);
      self->tsfn.Release();
    });
  }
};

// Decodes messages into the stream's chunks, offering each one as it fills up.
class ChunkWriter {
 public:
  explicit ChunkWriter(Stream& st) : st_(st), c_(st.acquire()) {}
  ~ChunkWriter() {
    if (c_) {
      c_->count = 0;
      std::lock_guard<std::mutex> lock(st_.mu);
      st_.free_chunks.push_back(c_);
    }
  }
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  // false once the stream is stopped.
  bool add(const nlmsghdr* nlh) {
    if (!c_) return false;
    if (parse_msg(nlh, c_->slot(c_->count)) && ++c_->count == c_->capacity) flush();
    return c_ != nullptr;
  }

  // Offers what the current chunk holds.
  void flush() {
    if (!c_ || !c_->count) return;
    st_.offer(c_);
    c_ = st_.acquire();
  }

  // Records not offered yet.
  bool holding() const { return c_ && c_->count; }

 private:
  Stream& st_;
  Chunk* c_;
};

// ---- event reader ----

void read_events(Stream& st) {
  // conntrackd runs at SCHED_RR maximum priority by default (spec §5.3) so that a burst of
  // kernel events never waits for the CPU; only this reader thread gets it here, the JS thread
  // stays normal. Best effort: without CAP_SYS_NICE the thread keeps its normal policy.
  sched_param sp{};
  sp.sched_priority = sched_get_priority_max(SCHED_RR);
  pthread_setschedparam(pthread_self(), SCHED_RR, &sp);
  constexpr unsigned kVec = 64;
  constexpr size_t kMsg = 8192;
  constexpr long kGatherNs = 2000000;
  constexpr int kHoldMs = 1;
  std::vector<uint8_t> bufs(kVec * kMsg);
  mmsghdr msgs[kVec];
  iovec iov[kVec];
  ChunkWriter out(st);
  const int fd = st.sock->fd();
  pollfd pfd[2] = {{fd, POLLIN, 0}, {st.stop_fd, POLLIN, 0}};
  while (!st.stopped.load()) {
    const int ready = poll(pfd, 2, out.holding() ? kHoldMs : -1);
    if (ready < 0 && errno != EINTR) break;
    if (pfd[1].revents) break;
    if (ready == 0) {  // quiet: what was held back goes now
      out.flush();
      continue;
    }
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
          st.overrun();
          continue;
        }
        if (errno == EAGAIN) break;
        out.flush();
        st.finish(errno);
        return;
      }
      got += static_cast<size_t>(n);
      for (int i = 0; i < n; i++) {
        int len = static_cast<int>(msgs[i].msg_len);
        for (auto* nlh = static_cast<const nlmsghdr*>(iov[i].iov_base); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
          if (!out.add(nlh)) return;
        }
      }
      if (static_cast<unsigned>(n) < kVec) break;  // drained: no extra call just to hear EAGAIN
    }
    // A partly filled chunk goes to JS only when JS has taken the previous ones; while JS is
    // busy, the next wakes keep filling it (one chunk per JS turn, not one per wake).
    if (st.drained()) out.flush();
    // A wake that found only a few datagrams: let events gather for a moment, so that a steady
    // stream costs one poll/recvmmsg round per many events. On a VM a syscall costs ~1.4 µs and
    // a wake-up several: 200 µs gave ~20 events per wake at 50k events/s, 2 ms gives ~100
    // (intake 3.9 → ~2 µs CPU/event, half the context switches of 1 ms). A burst that starts
    // meanwhile waits in the socket: 2 ms at the kernel's top rate (~250k/s) is ~500 events,
    // ~400 KB, what even the kernel's default receive buffer (2 × 212992 B) holds.
    if (got < kVec) {
      const timespec gather{0, kGatherNs};
      nanosleep(&gather, nullptr);
    }
  }
}

class EventReader : public Napi::ObjectWrap<EventReader> {
 public:
  static Napi::FunctionReference ctor;

  static void Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "EventReader",
                                   {InstanceMethod<&EventReader::Close>("close"),
                                    InstanceMethod<&EventReader::SetRcvBuf>("setRcvBuf"),
                                    InstanceMethod<&EventReader::GetRcvBuf>("getRcvBuf"),
                                    InstanceMethod<&EventReader::Reliable>("reliable"),
                                    InstanceMethod<&EventReader::Listen>("listen"),
                                    InstanceMethod<&EventReader::PortId>("portId")});
    ctor = Napi::Persistent(f);
  }

  // new EventReader(groups, reliable, rcvbuf, batch, onDelivery, netnsPath)
  explicit EventReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventReader>(info) {
    Napi::Env env = info.Env();
    const unsigned groups = info[0].As<Napi::Number>().Uint32Value();
    const bool reliable = info[1].As<Napi::Boolean>().Value();
    const int rcvbuf = info[2].As<Napi::Number>().Int32Value();
    const size_t batch = std::max<size_t>(1, info[3].As<Napi::Number>().Uint32Value());
    stream_ = std::make_shared<Stream>(batch, kMaxPending / batch + 1);
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
                  [](Stream& st) { read_events(st); });
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

  // listen(group, on) -> 0 or errno: joins or leaves one NFNLGRP_* group. A group nobody
  // listens to costs the kernel nothing: it builds no event messages for it.
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    const int group = info[0].As<Napi::Number>().Int32Value();
    const bool on = info[1].As<Napi::Boolean>().Value();
    if (!stream_->sock) return Napi::Number::New(info.Env(), EBADF);
    const int r = setsockopt(stream_->sock->fd(), SOL_NETLINK, on ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
                             &group, sizeof group);
    return Napi::Number::New(info.Env(), r == 0 ? 0 : errno);
  }

  // Whether the kernel reports both NetlinkEventsReliable options as set on the socket.
  Napi::Value Reliable(const Napi::CallbackInfo& info) {
    const NlSocket* s = stream_->sock.get();
    return Napi::Boolean::New(info.Env(), s && s->flag(NETLINK_BROADCAST_ERROR) && s->flag(NETLINK_NO_ENOBUFS));
  }

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
                       {InstanceMethod<&Handle::PortIds>("portIds"),
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
    auto st = std::make_shared<Stream>(batch, kDumpChunks);
    try {
      st->sock = std::make_unique<NlSocket>(0, ns_->fd);
    } catch (const SysError& e) {
      sys_error(env, e).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    st->sock->set_rcvbuf(kBatchSockBuf);
    Stream::start(env, st, info[3].As<Napi::Function>(), "ctnl-dump", [exp, family](Stream& s) {
      int err;
      {
        ChunkWriter out(s);
        err = dump(*s.sock, exp, family, [&out](const nlmsghdr* nlh) { return out.add(nlh); });
        out.flush();
      }
      s.finish(err);
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
  exports.Set("setSocketBuffers", Napi::Function::New(env, SetSocketBuffers));
  exports.Set("populate", Napi::Function::New(env, Populate));
  return exports;
}

}  // namespace
}  // namespace ctnl

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ctnl::Init(env, exports); }

NODE_API_MODULE(ctnetlink, InitAddon)
