#include "edgevae/engine.h"

#include <algorithm>

#include "core/parallel.h"
#include "edgevae/file.h"
#include "edgevae/rng.h"
#include "model/inference.h"
#include "simd/kernels.h"

namespace edgevae {

// Everything a call needs, allocated at load. The weights live only in XNNPACK's packed form.
struct Engine::Impl {
  ShapeInfo shape;
  ModelMetadata metadata;
  std::unique_ptr<Runtime> runtime;
  F32Inference inf;
  size_t max_batch = 0;
  AlignedBuffer<float> x, mv, z, sd, eps;

  Status CheckCount(int n) const {
    if (n < 0 || static_cast<size_t>(n) > max_batch) {
      return InvalidArgument("batch of " + std::to_string(n) + " images; this engine was loaded for " +
                             "at most " + std::to_string(max_batch) + " (EngineOptions::max_batch)");
    }
    return Status::Ok();
  }

  // x <- pixels / 255, rows in parallel.
  void ToFloat(const uint8_t* pixels, size_t n) {
    const size_t in = shape.input;
    ParallelTiles(runtime->pool(), n, 16, [&](size_t b, size_t e) {
      simd::U8ToF32(pixels + b * in, x.data() + b * in, (e - b) * in);
    });
  }

  // out <- sigmoid(decoder(z[0..n))).
  Status DecodeInternal(size_t n, float* out) {
    const size_t in = shape.input;
    EVAE_RETURN_IF_ERROR(inf.DecodeLogits(z.data(), n, out, runtime->pool()));
    ParallelTiles(runtime->pool(), n, 16, [&](size_t b, size_t e) {
      simd::Sigmoid(out + b * in, out + b * in, (e - b) * in);
    });
    return Status::Ok();
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Load(const std::string& path,
                                               const EngineOptions& options) {
  EVAE_ASSIGN_OR_RETURN(Model model, LoadModel(path));
  return Create(model, options);
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(const Model& model,
                                                 const EngineOptions& options) {
  if (options.max_batch < 1) {
    return InvalidArgument("max_batch must be at least 1, got " +
                           std::to_string(options.max_batch));
  }
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError("model has a non-finite parameter: " + bad);
  }
  auto impl = std::make_unique<Impl>();
  impl->shape = model.shape();
  impl->metadata = model.metadata();
  EVAE_ASSIGN_OR_RETURN(impl->runtime, Runtime::Create(options.threads));
  impl->max_batch = static_cast<size_t>(options.max_batch);
  EVAE_ASSIGN_OR_RETURN(impl->inf, F32Inference::Create(model, impl->max_batch));
  const size_t b = impl->max_batch, in = impl->shape.input, lat = impl->shape.latent;
  impl->x.Resize(b * in);
  impl->mv.Resize(b * 2 * lat);
  impl->z.Resize(b * lat);
  impl->sd.Resize(b * lat);
  impl->eps.Resize(b * lat);
  if (impl->x.empty() || impl->eps.empty()) return Internal("out of memory (engine buffers)");
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const ShapeInfo& Engine::shape() const { return impl_->shape; }
const char* Engine::dtype() const { return "f32"; }
int Engine::max_batch() const { return static_cast<int>(impl_->max_batch); }
int Engine::threads() const { return impl_->runtime->threads(); }
const ModelMetadata& Engine::metadata() const { return impl_->metadata; }

Status Engine::Encode(const uint8_t* pixels, int n, float* mu, float* logvar) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  const size_t lat = m.shape.latent;
  m.ToFloat(pixels, n);
  EVAE_RETURN_IF_ERROR(m.inf.Encode(m.x.data(), n, m.mv.data(), m.runtime->pool()));
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    const float* row = m.mv.data() + i * 2 * lat;
    std::copy(row, row + lat, mu + i * lat);
    std::copy(row + lat, row + 2 * lat, logvar + i * lat);
  }
  return Status::Ok();
}

Status Engine::Decode(const float* z, int n, float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  // Through the engine's own buffer: XNNPACK reads past the end of its input.
  std::copy(z, z + static_cast<size_t>(n) * m.shape.latent, m.z.data());
  return m.DecodeInternal(n, out);
}

Status Engine::Sample(int n, uint64_t seed, float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  FillNormal(RngStream(seed, StreamId(RngPurpose::kSample)), 0, m.z.data(),
             static_cast<size_t>(n) * m.shape.latent);
  return m.DecodeInternal(n, out);
}

Status Engine::Reconstruct(const uint8_t* pixels, int n, bool sample_z, uint64_t seed,
                           float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  const size_t lat = m.shape.latent;
  m.ToFloat(pixels, n);
  EVAE_RETURN_IF_ERROR(m.inf.Encode(m.x.data(), n, m.mv.data(), m.runtime->pool()));
  if (sample_z) {
    FillNormal(RngStream(seed, StreamId(RngPurpose::kSample, 1)), 0, m.eps.data(),
               static_cast<size_t>(n) * lat);
  }
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    const float* row = m.mv.data() + i * 2 * lat;
    if (sample_z) {
      simd::ReparamForward(row, row + lat, m.eps.data() + i * lat, m.z.data() + i * lat,
                           m.sd.data() + i * lat, lat);
    } else {
      std::copy(row, row + lat, m.z.data() + i * lat);
    }
  }
  return m.DecodeInternal(n, out);
}

}  // namespace edgevae
