// The engine allocates nothing on the heap once loaded. Every allocation is counted, whether from
// our code, libstdc++, XNNPACK or pthreadpool (tests/common/alloc_counter.h).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/quant.h"
#include "common/alloc_counter.h"
#include "gtest/gtest.h"


namespace edgevae {
namespace {

using Counting = test::CountAllocations;

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
