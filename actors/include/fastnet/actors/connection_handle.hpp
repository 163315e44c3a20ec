// fastnet::actors — what an actor holds to talk to its connection.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include <fastnet/connection.hpp>

namespace fastnet::actors {

/// A copyable handle to one connection. The actor that owns the connection
/// gets one at spawn and may hand copies to any other actor. Every call
/// becomes a command on the owning loop's lock-free queue (or runs at once
/// on the loop thread); calls from one thread take effect in call order.
/// The socket itself is never touched outside its loop.
/// Thread safety: every method, from any thread.
class connection_handle {
 public:
  /// An empty handle: sends return false, the other calls do nothing.
  connection_handle() = default;
  /// A handle to `conn`; the server makes one for each connection's actor.
  explicit connection_handle(connection_ptr conn) : conn_(std::move(conn)) {}

  /// Sends one frame (framed by the connection's codec). Returns false when
  /// the connection is closing or closed, or its output cap was reached.
  bool send(std::string&& frame) const { return conn_ && conn_->send(std::move(frame)); }
  /// As send(std::string&&), for bytes it copies when queued (off the loop).
  bool send(std::string_view frame) const { return conn_ && conn_->send(frame); }
  /// As send(std::string&&), for bytes it copies when queued (off the loop).
  bool send(std::span<const std::byte> frame) const { return conn_ && conn_->send(frame); }
  /// Sends one frame of a codec kind (see message_atom; WebSocket text or
  /// binary, say), or with fragment::more a fragment the next sends
  /// continue. Returns false as send() does.
  bool send(std::string&& frame, frame_kind kind, fragment frag = fragment::last) const {
    return conn_ && conn_->send(std::move(frame), kind, frag);
  }
  /// As send(std::string&&, frame_kind, fragment), for bytes it copies
  /// when queued (off the loop).
  bool send(std::string_view frame, frame_kind kind, fragment frag = fragment::last) const {
    return conn_ && conn_->send(frame, kind, frag);
  }
  /// As send(std::string&&, frame_kind, fragment), for bytes it copies
  /// when queued (off the loop).
  bool send(std::span<const std::byte> frame, frame_kind kind,
            fragment frag = fragment::last) const {
    return conn_ && conn_->send(frame, kind, frag);
  }
  /// A string literal or C string (without this, send("text") is ambiguous).
  bool send(const char* frame) const { return send(std::string_view(frame)); }
  /// Sends several frames as one command to the loop (one queue entry, one wake).
  bool send_all(std::vector<std::string>&& frames) const {
    return conn_ && conn_->send_all(std::move(frames));
  }

  /// Flush, then half-close. See connection::shutdown.
  void shutdown() const {
    if (conn_) conn_->shutdown();
  }
  /// Flush, half-close, close. See connection::close.
  void close() const {
    if (conn_) conn_->close();
  }
  /// Reset now, dropping queued output.
  void abort() const {
    if (conn_) conn_->abort();
  }
  /// Stops reading from the socket (independent of the inbound budget).
  /// See connection::pause_reading.
  void pause_reading() const {
    if (conn_) conn_->pause_reading();
  }
  /// Ends that pause (not the inbound budget's). See connection::resume_reading.
  void resume_reading() const {
    if (conn_) conn_->resume_reading();
  }

  /// The connection's id (connection::id); 0 for an empty handle.
  uint64_t id() const { return conn_ ? conn_->id() : 0; }
  /// The peer's address; empty for an empty handle.
  socket_address peer_address() const { return conn_ ? conn_->peer_address() : socket_address{}; }
  /// True while sends are accepted (connection::connected); false for an empty handle.
  bool connected() const { return conn_ && conn_->connected(); }
  /// Output accepted and not yet handed to the kernel; 0 for an empty handle.
  size_t pending_output() const { return conn_ ? conn_->pending_output() : 0; }
  /// False for an empty handle.
  explicit operator bool() const { return conn_ != nullptr; }

  /// The reactor connection underneath (for reactor-level calls).
  const connection_ptr& connection() const { return conn_; }

  /// Handles of the same connection (or both empty).
  friend bool operator==(const connection_handle& a, const connection_handle& b) {
    return a.conn_ == b.conn_;
  }

 private:
  connection_ptr conn_;
};

}  // namespace fastnet::actors

// Handles are passed between actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fastnet::actors::connection_handle)
