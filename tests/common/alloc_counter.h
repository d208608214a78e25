// Counting heap allocations, for the tests that check that a call allocates nothing. Linking
// tests/common/alloc_counter.cc replaces malloc and its relatives (forwarding to glibc's __libc_*
// entry points), so every allocation is seen, whether from our code, libstdc++, XNNPACK or
// pthreadpool. Not for sanitizer builds, whose runtime owns malloc (tests/CMakeLists.txt).
#ifndef EDGEVAE_TESTS_COMMON_ALLOC_COUNTER_H_
#define EDGEVAE_TESTS_COMMON_ALLOC_COUNTER_H_

namespace edgevae::test {

// Counts the allocations made while it lives (on any thread).
class CountAllocations {
 public:
  CountAllocations();
  ~CountAllocations();
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
  long count() const;
};

}  // namespace edgevae::test

#endif  // EDGEVAE_TESTS_COMMON_ALLOC_COUNTER_H_
