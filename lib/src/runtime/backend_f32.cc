// The f32 backend: F32Inference (XNNPACK f32 operators on the packed weights).
#include "kernels/elementwise.h"
#include "kernels/parallel.h"
#include "runtime/backend.h"
#include "runtime/f32_inference.h"

namespace edgevae {

namespace {

class F32Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Model& model, size_t max_batch) {
    auto b = std::unique_ptr<F32Backend>(new F32Backend());
    b->in_ = model.shape().input;
    EVAE_ASSIGN_OR_RETURN(b->inf_, F32Inference::Create(model, max_batch));
    b->x_.Resize(max_batch * b->in_);
    if (b->x_.empty()) return Internal("out of memory (engine buffers)");
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "f32"; }
  Status EncodePixels(const uint8_t* pixels, size_t n, bool /*logvar*/, float* mv,
                      pthreadpool_t pool) override {
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      simd::U8ToF32(pixels + b * in_, x_.data() + b * in_, (e - b) * in_);
    });
    return inf_.Encode(x_.data(), n, mv, pool);
  }
  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) override {
    return inf_.DecodeLogits(z, n, logits, pool);
  }

 private:
  F32Backend() = default;
  F32Inference inf_;
  AlignedBuffer<float> x_;
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateF32Backend(const Model& model, size_t max_batch) {
  return F32Backend::Create(model, max_batch);
}

}  // namespace edgevae
