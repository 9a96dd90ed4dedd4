// Step synchronization of the multi-threaded minibatch epoch (dense/epoch.hpp, sgd_epoch) that does not
// stall when a thread is descheduled.
//
// Each step's batch is split into `nt` fixed slices; the gradient of a slice depends only on the
// step and the slice, never on which thread computes it, and the update sums the slices in slice
// order. So any thread may compute any slice, and the results stay bitwise those of a barrier per
// step. A thread claims its own slice first, then any unclaimed one: a running thread computes the
// slices of a descheduled one instead of waiting a scheduler time slice (milliseconds) for it.
// When a claimed slice is late (its thread was descheduled in the middle of it), a waiting thread
// computes it again (a backup); the first to finish publishes it, the other's copy is dropped.
// The thread that completes the last slice of a step applies the update to the shared weights and
// publishes the step; a thread that wakes up late joins the step in progress.
//
// A late thread may read the weights while the update of a later step writes them; what it computes
// from them is never used (its slice was published by another thread, so it loses the completion
// race, see complete()). That read is still a data race in the C++ memory model (ThreadSanitizer
// reports it): the values read are only ever floating-point inputs of a discarded sum, never
// indices or pointers, so the worst it can produce is a wrong value that is thrown away.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#elif defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace fastgd {
namespace detail {

// A spin-wait hint: lets the other hyperthread of the core run, and saves power.
inline void cpu_relax() noexcept {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A cheap monotonic clock for the waiting policy only (it never changes a result): the time stamp
// counter on x86 (a few ns to read; 1–4 ticks per ns), else nanoseconds.
inline std::uint64_t ticks() noexcept {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  return __rdtsc();
#elif defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count());
#endif
}

// A claimed slice is backed up once a waiting thread has waited as long as its own last slice
// took plus this (5–20 µs): late enough that a thread that is running, only slower, is rarely
// duplicated, and early against a scheduler time slice (milliseconds).
constexpr std::uint64_t kBackupTicks = 20000;
// When every slice is done and the update takes longer than expected (twice its usual time) plus
// this (50–200 µs), its thread is probably descheduled: the waiting thread then also yields the
// CPU at each look, in case they share a core. Not earlier: on a loaded machine a yield gives
// the core away for a time slice.
constexpr std::uint64_t kYieldTicks = 200000;

class StepSync {
 public:
  explicit StepSync(int slices) : slices_(slices), tags_(slices) {}

  int slices() const noexcept { return slices_; }

  // The step in progress (n_steps when the epoch is over). Acquire: the weights it was published
  // with are visible.
  std::int64_t step() const noexcept { return step_.load(std::memory_order_acquire); }

  // A slice of step s to compute, own slice first (`preferred`), then the others; -1 if all are
  // claimed. Fails for a step that is over (a late thread), since claims only move forward.
  int claim(std::int64_t s, int preferred) noexcept {
    for (int i = 0; i < slices_; ++i) {
      const int k = (preferred + i) % slices_;
      std::atomic<std::int64_t>& c = tags_[k].claimed;
      std::int64_t expected = s;
      if (c.load(std::memory_order_relaxed) == s &&
          c.compare_exchange_strong(expected, s + 1, std::memory_order_relaxed))
        return k;
    }
    return -1;
  }

  // Waits until step s is published (returns -1) or a slice of it is late (returns that slice,
  // to be computed again as a backup). `slice` and `update` are how long a slice and an update
  // usually take this thread (ticks).
  int wait(std::int64_t s, std::uint64_t slice, std::uint64_t update,
           int preferred) const noexcept {
    const std::uint64_t start = ticks(), backup = slice + kBackupTicks;
    const std::uint64_t yield = backup + 2 * update + kYieldTicks;
    for (unsigned spins = 1;; ++spins) {
      if (step_.load(std::memory_order_acquire) != s) return -1;
      cpu_relax();
      if (spins % 64 == 0) {
        const std::uint64_t waited = ticks() - start;
        if (waited > backup) {
          for (int i = 0; i < slices_; ++i) {
            const int k = (preferred + i) % slices_;
            if (tags_[k].done.load(std::memory_order_relaxed) == s) return k;
          }
          // All slices are done: the update is being applied.
          if (waited > yield) std::this_thread::yield();
        }
      }
    }
  }

  // Slice k of step s has been computed: true for the first thread to say so (whose result is
  // the slice's), false for a late or backup copy. Acq_rel: the winner's buffer is handed over.
  bool complete(std::int64_t s, int k) noexcept {
    std::int64_t expected = s;
    return tags_[k].done.load(std::memory_order_relaxed) == s &&
           tags_[k].done.compare_exchange_strong(expected, s + 1, std::memory_order_acq_rel);
  }

  // After a successful complete(s, k): true for the thread that completed the last slice of step
  // s, which then applies the update (all slices' results are visible to it) and publishes.
  bool last(std::int64_t s) noexcept {
    return finished_.fetch_add(1, std::memory_order_acq_rel) == (s + 1) * slices_ - 1;
  }

  void publish(std::int64_t s) noexcept { step_.store(s + 1, std::memory_order_release); }

  // A thread is done with the epoch: it waits until all `team` threads are, yielding the CPU
  // after a short spin. The parallel region's own closing barrier would spin for a while
  // instead, and a late thread that shares the core would wait for all of that spin.
  void leave(int team) noexcept {
    left_.fetch_add(1, std::memory_order_acq_rel);
    const std::uint64_t start = ticks();
    for (unsigned spins = 1; left_.load(std::memory_order_acquire) < team; ++spins) {
      cpu_relax();
      if (spins % 64 == 0 && ticks() - start > kBackupTicks) std::this_thread::yield();
    }
  }

  // The buffer holding slice k's result, kept on the slice's line (written by the thread that
  // completes the slice, read by the thread that applies the update). After a successful
  // complete(s, k), the winner swaps its buffer in and takes the previous one, whose result the
  // update of step s − 1 has used.
  template <class B>
  B* swap_result(int k, B* mine) noexcept {
    B* previous = static_cast<B*>(tags_[k].result);
    tags_[k].result = mine;
    return previous;
  }
  template <class B>
  void set_result(int k, B* buffer) noexcept {
    tags_[k].result = buffer;
  }
  template <class B>
  const B* result(int k) const noexcept {
    return static_cast<const B*>(tags_[k].result);
  }

 private:
  // Per slice, a cache line: steps for which it has been claimed, and completed; its result.
  struct alignas(64) Tags {
    std::atomic<std::int64_t> claimed{0}, done{0};
    void* result = nullptr;
  };
  int slices_;
  std::vector<Tags> tags_;
  alignas(64) std::atomic<std::int64_t> finished_{0};  // slices completed over the epoch
  alignas(64) std::atomic<int> left_{0};                // threads done with the epoch
  alignas(64) std::atomic<std::int64_t> step_{0};      // steps published (alone on its line:
                                                        // the class is padded to 64 bytes)
};

}  // namespace detail
}  // namespace fastgd
