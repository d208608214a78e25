// Scoring allocates nothing on the heap once the scorers are made: every method, both
// complexity corrections, one and two threads. This executable replaces malloc and its
// relatives (forwarding to glibc's __libc_* entry points) to count every allocation.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/score.h"
#include "gtest/gtest.h"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}
}  // namespace

extern "C" {
void* malloc(size_t size) {
  Count();
  return __libc_malloc(size);
}
void* calloc(size_t n, size_t size) {
  Count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) {
  Count();
  return __libc_realloc(p, size);
}
void* memalign(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  Count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}

namespace edgevae {
namespace {

class Counting {
 public:
  Counting() {
    g_allocations = 0;
    g_counting = true;
  }
  ~Counting() { g_counting = false; }
  long count() const { return g_allocations.load(); }
};

TEST(ScoreAllocations, CounterSeesAllocations) {
  long seen;
  {
    Counting c;
    std::vector<double>* v = new std::vector<double>(100);
    seen = c.count();
    delete v;
  }
  EXPECT_GE(seen, 2);  // the vector object and its buffer
}

TEST(ScoreAllocations, NoHeapAllocationWhileScoring) {
  auto model = Model::Create(MnistShape::kInfo);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  AnyModel any;
  any.f32 = model->Clone();
  constexpr int kImages = 300;  // more than one engine batch (256)
  std::vector<uint8_t> pixels(kImages * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 256);
  std::vector<double> scores(kImages);
  for (const char* method : {"bce", "mse", "elbo", "iw", "elbo-ic", "mse-icr"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << method << ", " << threads << " thread(s)");
      ScoreOptions o;
      ASSERT_TRUE(ParseScoreMethod(method, &o).ok());
      o.samples = 3;
      o.iw_samples = 5;
      auto scorer = ParallelScorer::Create(any, o, threads);
      ASSERT_TRUE(scorer.ok()) << scorer.status().message();
      ASSERT_TRUE((*scorer)->Score(pixels.data(), kImages, 0, scores.data()).ok());  // warm-up
      Counting c;
      for (int n : {1, 7, kImages}) {
        ASSERT_TRUE((*scorer)->Score(pixels.data(), n, 100, scores.data()).ok());
      }
      EXPECT_EQ(c.count(), 0) << "heap allocations while scoring";
    }
  }
}

}  // namespace
}  // namespace edgevae
