// The engine allocates nothing on the heap once loaded. This executable replaces malloc and its
// relatives (forwarding to glibc's __libc_* entry points) to count calls, so every allocation,
// whether from our code, libstdc++, XNNPACK or pthreadpool, is seen.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/quant.h"
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

TEST(EngineAllocations, CounterSeesAllocations) {
  long seen;
  {
    Counting c;
    std::vector<int>* v = new std::vector<int>(100);
    seen = c.count();
    delete v;
  }
  EXPECT_GE(seen, 2);  // the vector object and its buffer
}

TEST(EngineAllocations, NoHeapAllocationAfterLoad) {
  auto model = Model::Create(MnistShape::kInfo);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  constexpr int kBatch = 16;
  std::vector<uint8_t> pixels(kBatch * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37);
  std::vector<float> z(kBatch * 20, 0.25f), mu(kBatch * 20), logvar(kBatch * 20),
      out(kBatch * 784);
  // An int8 model calibrated on the same synthetic images.
  ImageSet calibration;
  calibration.count = kBatch;
  calibration.rows = calibration.cols = 28;
  calibration.pixels = pixels;
  auto rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  auto q = QuantizeInt8(*model, rt->get(), calibration, Calibration::kMinMax);
  ASSERT_TRUE(q.ok()) << q.status().message();
  for (int threads : {1, 2}) {
   for (const char* dtype : {"f32", "f16", "int8"}) {
    SCOPED_TRACE(::testing::Message() << threads << " thread(s), " << dtype);
    const bool int8 = std::string(dtype) == "int8";
    const EngineOptions options{
        .max_batch = kBatch, .threads = threads, .f16 = std::string(dtype) == "f16"};
    auto engine = int8 ? Engine::Create(*q, options) : Engine::Create(*model, options);
    if (!engine.ok() && engine.status().code() == StatusCode::kUnsupported) continue;  // no fp16
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    Engine& e = **engine;
    Counting c;
    for (int n : {1, 7, kBatch}) {
      ASSERT_TRUE(e.Encode(pixels.data(), n, mu.data(), logvar.data()).ok());
      ASSERT_TRUE(e.Decode(z.data(), n, out.data()).ok());
      ASSERT_TRUE(e.DecodeLogits(z.data(), n, out.data()).ok());
      ASSERT_TRUE(e.Sample(n, 11, out.data()).ok());
      ASSERT_TRUE(e.Reconstruct(pixels.data(), n, false, 0, out.data()).ok());
      ASSERT_TRUE(e.Reconstruct(pixels.data(), n, true, 5, out.data()).ok());
    }
    EXPECT_EQ(c.count(), 0) << "heap allocations during inference calls";
   }
  }
}

}  // namespace
}  // namespace edgevae
