// fastnet — the lock-free queue of one consumer: an intrusive stack taken whole.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

namespace fastnet::detail {

/// Nodes taken from an mpsc_stack, oldest first; frees what is not popped.
/// Thread safety: owned by the consumer.
template <typename Node>
class node_list {
 public:
  node_list() = default;
  explicit node_list(Node* oldest) : head_(oldest) {}
  node_list(node_list&& o) noexcept : head_(std::exchange(o.head_, nullptr)) {}
  node_list& operator=(node_list&& o) noexcept {
    if (this != &o) {
      clear();
      head_ = std::exchange(o.head_, nullptr);
    }
    return *this;
  }
  ~node_list() { clear(); }

  bool empty() const { return head_ == nullptr; }
  /// The oldest node, now the caller's; null when empty.
  std::unique_ptr<Node> pop() {
    if (head_ == nullptr) return nullptr;
    return std::unique_ptr<Node>(std::exchange(head_, head_->next));
  }
  void clear() {
    while (head_ != nullptr)
      std::unique_ptr<Node> owned(std::exchange(head_, head_->next));
  }

 private:
  Node* head_ = nullptr;
};

/// Items from any number of producer threads to one consumer, in the order
/// they were pushed (happens-before, also when a producer moves between
/// threads, which a per-producer queue such as moodycamel's would not
/// order). One CAS per push; the consumer takes everything with one
/// exchange and reverses it. An idle queue holds one null pointer, no
/// blocks: it serves the connection's outbox (calls made off the loop) and
/// a connection actor's inbox (frames on their way to the actor).
/// `Node` has a `Node* next` member.
/// Thread safety: push from any thread; take and the destructor on the consumer.
template <typename Node>
class mpsc_stack {
 public:
  mpsc_stack() = default;
  mpsc_stack(const mpsc_stack&) = delete;
  mpsc_stack& operator=(const mpsc_stack&) = delete;
  ~mpsc_stack() { node_list<Node> rest(take()); }

  /// Adds `node`; true when the stack was empty (the first of a batch,
  /// whose producer is the one to wake the consumer).
  bool push(std::unique_ptr<Node> node) {
    Node* raw = node.release();
    Node* head = head_.load(std::memory_order_relaxed);
    do {
      raw->next = head;
    } while (!head_.compare_exchange_weak(head, raw, std::memory_order_release,
                                          std::memory_order_relaxed));
    return head == nullptr;
  }

  /// Everything pushed so far, oldest first.
  node_list<Node> take() {
    Node* list = head_.exchange(nullptr, std::memory_order_acquire);
    Node* ordered = nullptr;
    while (list != nullptr) {  // reverse: the stack holds the newest first
      Node* next = list->next;
      list->next = ordered;
      ordered = list;
      list = next;
    }
    return node_list<Node>(ordered);
  }

  /// True when nothing is waiting. Any thread; a hint once other threads push.
  bool empty() const { return head_.load(std::memory_order_relaxed) == nullptr; }

 private:
  std::atomic<Node*> head_{nullptr};
};

}  // namespace fastnet::detail
