// fastnet — what the connections of one owner (a server's loop, a client) share.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "fastnet/codec.hpp"
#include "fastnet/connection.hpp"
#include "fastnet/event_loop.hpp"
#include "layer_ref.hpp"
#include "loop_inbox.hpp"
#include "owner_stats.hpp"
#include "transport.hpp"

namespace fastnet::detail {

class connection_impl;

/// What every connection of one owner — one loop of a tcp_server, or a
/// tcp_client — has in common: the loop and its inbox, the options, the
/// codec they share when the factory makes shareable ones, and the owner's
/// bookkeeping when one of them closes. Kept once per owner instead of in
/// every connection: an idle connection is mostly these pointers.
///
/// Counted by owner_ref. Connections hold one, so that a handle kept past
/// its server can still read the options or post to the inbox while one of
/// its sends races with the shutdown; connection_closed() is only ever
/// called while the owner itself is alive (an owner outlives every
/// connection it has open).
/// Thread safety: loop, inbox and opts from any thread (they do not
/// change); shared codec and connection_closed on the loop thread only.
/// `o` with every timeout made safe to add to a clock reading: negative
/// ones are 0 (off, or at once for the lingers) and any beyond ten years
/// are ten years, where steady_clock's nanoseconds would overflow near 292.
connection_options normalized(connection_options o);

class connection_owner {
 public:
  /// Connections speak `protocol` when it is set, else frames of `codec`.
  connection_owner(event_loop& loop, const connection_options& opts, codec_factory codec,
                   protocol_factory protocol, transport_factory transport)
      : loop(loop),
        inbox(*loop.inbox()),
        opts(normalized(opts)),
        codec_factory_(std::move(codec)),
        protocol_factory_(std::move(protocol)),
        transport_factory_(std::move(transport)),
        inbox_ref_(loop.inbox()) {}
  virtual ~connection_owner() = default;
  connection_owner(const connection_owner&) = delete;
  connection_owner& operator=(const connection_owner&) = delete;

  /// `c` has closed (or could not start): the owner's bookkeeping. Loop thread only.
  virtual void connection_closed(connection_impl& c) = 0;

  /// The layers for a new connection: its protocol, or its codec. A codec
  /// that says it is shareable is made once and lent to every later
  /// connection of this owner (one object per loop instead of one per
  /// connection); any other is the connection's own. Loop thread only.
  layer_ref new_layers() {
    if (protocol_factory_) {
      auto made = protocol_factory_();
      if (made) attach(*made);
      return layer_ref(std::move(made));
    }
    if (!shared_codec_) {
      auto made = codec_factory_();
      stats.set_layer_name(made->name());
      if (!made->shareable()) return layer_ref(std::move(made));
      shared_codec_ = std::move(made);
    }
    return layer_ref::lent(*shared_codec_);
  }

  /// Lets `p` count its events into this owner's statistics. Loop thread only.
  void attach(protocol& p) {
    stats.set_layer_name(p.name());
    p.count_into(stats.tally_for(p.events(), p.name()));
  }
  /// The same for a transport (its events; it speaks no protocol).
  void attach(transport& t) { t.count_into(stats.tally_for(t.events(), t.name())); }

  /// The transport for a new connection: the factory's, else plain TCP.
  /// Loop thread only.
  transport_ref new_transport() {
    if (!transport_factory_) return transport_ref(nullptr);
    auto made = transport_factory_();
    if (made) attach(*made);
    return transport_ref(std::move(made));
  }

  event_loop& loop;
  loop_inbox& inbox;  // kept alive by inbox_ref_, also once the loop is gone
  const connection_options opts;
  /// What this owner's connections have done (written on the loop thread).
  owner_stats stats;

 private:
  friend class owner_ref;

  codec_factory codec_factory_;
  protocol_factory protocol_factory_;
  transport_factory transport_factory_;
  std::unique_ptr<codec> shared_codec_;
  std::shared_ptr<loop_inbox> inbox_ref_;
  std::atomic<uint32_t> refs_{0};
};

/// A counted reference to a connection_owner, deleting it with the last
/// one. Intrusive because every connection holds one: 8 bytes where a
/// std::shared_ptr takes 16.
/// Thread safety: as std::shared_ptr (distinct refs from any thread).
class owner_ref {
 public:
  owner_ref() = default;
  /// Takes over a new owner (its count starts here).
  explicit owner_ref(std::unique_ptr<connection_owner> fresh) : p_(fresh.release()) {
    if (p_ != nullptr) p_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  owner_ref(const owner_ref& o) noexcept : p_(o.p_) {
    if (p_ != nullptr) p_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  owner_ref(owner_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  owner_ref& operator=(owner_ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~owner_ref() {
    // acq_rel: every use of the owner through other refs happens before its deletion.
    if (p_ != nullptr && p_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      std::unique_ptr<connection_owner> last(p_);
  }

  connection_owner* operator->() const { return p_; }
  connection_owner& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  connection_owner* p_ = nullptr;
};

}  // namespace fastnet::detail
