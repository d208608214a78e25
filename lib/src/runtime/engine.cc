#include "edgevae/engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "edgevae/model_file.h"
#include "edgevae/rng.h"
#include "kernels/loss.h"
#include "runtime/backend.h"

namespace edgevae {

// Everything a call needs, allocated at load.
struct Engine::Impl {
  ShapeInfo shape;
  ModelMetadata metadata;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Backend> backend;
  size_t max_batch = 0;
  AlignedBuffer<float> mv, z, sd, eps;

  // For the calls that take images: a generator alone (a GAN's) only decodes.
  Status CheckEncoder() const {
    if (shape.has_encoder()) return Status::Ok();
    return Unsupported("shape '" + std::string(shape.name) + "' is a generator without an "
                       "encoder: it samples and decodes, but cannot encode or reconstruct "
                       "images");
  }

  Status CheckCount(int n) const {
    if (n < 0 || static_cast<size_t>(n) > max_batch) {
      return InvalidArgument("batch of " + std::to_string(n) +
                             " images; this engine was loaded for at most " +
                             std::to_string(max_batch) + " (EngineOptions::max_batch)");
    }
    return Status::Ok();
  }

  Status Allocate() {
    const size_t b = max_batch, lat = shape.latent;
    mv.Resize(b * 2 * lat);
    z.Resize(b * lat);
    sd.Resize(b * lat);
    eps.Resize(b * lat);
    if (eps.empty()) return Internal("out of memory (engine buffers)");
    return Status::Ok();
  }

  // out <- sigmoid(decoder(z[0..n))).
  Status DecodeInternal(size_t n, float* out) {
    return backend->DecodeProbs(z.data(), n, out, runtime->pool());
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Load(const std::string& path,
                                               const EngineOptions& options) {
  EVAE_ASSIGN_OR_RETURN(AnyModel model, LoadAnyModel(path));
  return Create(model, options);
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(const AnyModel& model,
                                                 const EngineOptions& options) {
  if (model.int8) return Create(*model.int8, options);
  if (model.f32) {
    EngineOptions o = options;
    o.f16 = o.f16 || model.f16;  // an f16 file runs in half precision
    return Create(*model.f32, o);
  }
  return InvalidArgument("no model to create an engine from");
}

namespace {
Status CheckOptions(const EngineOptions& options) {
  if (options.max_batch < 1) {
    return InvalidArgument("max_batch must be at least 1, got " +
                           std::to_string(options.max_batch));
  }
  return Status::Ok();
}
}  // namespace

StatusOr<std::unique_ptr<Engine>> Engine::Create(const Model& model, const EngineOptions& options) {
  EVAE_RETURN_IF_ERROR(CheckOptions(options));
  if (!model.shape().has_decoder()) return RequireVae(model.shape(), "an inference engine");
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError("model has a non-finite parameter: " + bad);
  }
  auto impl = std::make_unique<Impl>();
  impl->shape = model.shape();
  impl->metadata = model.metadata();
  impl->max_batch = static_cast<size_t>(options.max_batch);
  EVAE_ASSIGN_OR_RETURN(impl->runtime, Runtime::Create(options.threads));
#if defined(EDGEVAE_BARE_METAL)
  return Unsupported("f32 and f16 models run on XNNPACK, which a bare-metal build does not have: "
                     "convert the model to int8 (edgevae convert --dtype int8)");
#else
  if (options.f16) {
    EVAE_ASSIGN_OR_RETURN(impl->backend, CreateF16Backend(model, impl->max_batch));
  } else {
    EVAE_ASSIGN_OR_RETURN(impl->backend, CreateF32Backend(model, impl->max_batch));
  }
  EVAE_RETURN_IF_ERROR(impl->Allocate());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
#endif
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(const Int8Model& model,
                                                 const EngineOptions& options) {
  EVAE_RETURN_IF_ERROR(CheckOptions(options));
  EVAE_RETURN_IF_ERROR(RequireDeployable(model.shape, "an int8 engine"));
  auto impl = std::make_unique<Impl>();
  impl->shape = model.shape;
  impl->metadata = model.metadata;
  impl->max_batch = static_cast<size_t>(options.max_batch);
  EVAE_ASSIGN_OR_RETURN(impl->runtime, Runtime::Create(options.threads));
  EVAE_ASSIGN_OR_RETURN(impl->backend,
                        CreateInt8Backend(model, impl->max_batch, options.sparse_encode));
  EVAE_RETURN_IF_ERROR(impl->Allocate());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const ShapeInfo& Engine::shape() const { return impl_->shape; }
const char* Engine::dtype() const { return impl_->backend->dtype(); }
int Engine::max_batch() const { return static_cast<int>(impl_->max_batch); }
int Engine::threads() const { return impl_->runtime->threads(); }
const ModelMetadata& Engine::metadata() const { return impl_->metadata; }

Status Engine::Encode(const uint8_t* pixels, int n, float* mu, float* logvar) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckEncoder());
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  const size_t lat = m.shape.latent;
  EVAE_RETURN_IF_ERROR(
      m.backend->EncodePixels(pixels, n, /*logvar=*/true, m.mv.data(), m.runtime->pool()));
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

Status Engine::DecodeLogits(const float* z, int n, float* logits) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  std::copy(z, z + static_cast<size_t>(n) * m.shape.latent, m.z.data());
  return m.backend->DecodeLogits(m.z.data(), n, logits, m.runtime->pool());
}

Status Engine::ReconstructionError(const uint8_t* pixels, int n, ReconstructionLoss loss,
                                   double* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckEncoder());
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  return m.backend->ReconstructionError(pixels, n, loss, m.mv.data(), m.z.data(), out,
                                        m.runtime->pool());
}

Status Engine::Sample(int n, uint64_t seed, float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  FillNormal(RngStream(seed, StreamId(RngPurpose::kSample)), 0, m.z.data(),
             static_cast<size_t>(n) * m.shape.latent);
  return m.DecodeInternal(n, out);
}

Status Engine::Reconstruct(const uint8_t* pixels, int n, bool sample_z, uint64_t seed, float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckEncoder());
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  const size_t lat = m.shape.latent;
  // A deterministic encoder's posterior is a point mass: a draw from it is its code.
  sample_z = sample_z && m.shape.has_logvar();
  EVAE_RETURN_IF_ERROR(
      m.backend->EncodePixels(pixels, n, sample_z, m.mv.data(), m.runtime->pool()));
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

StatusOr<GoldenCheck> CheckGoldenVectors(Engine& engine, const GoldenVectors& golden) {
  const size_t in = engine.shape().input;
  if (golden.count <= 0 || golden.pixels.size() != golden.count * in ||
      golden.reconstruction.size() != golden.count * in) {
    return DataError("golden vectors do not match the model's input size");
  }
  if (golden.count > engine.max_batch()) {
    return InvalidArgument("the engine takes " + std::to_string(engine.max_batch()) +
                           " images per call; the golden vectors hold " +
                           std::to_string(golden.count));
  }
  std::vector<float> out(golden.reconstruction.size());
  if (engine.shape().has_encoder()) {
    EVAE_RETURN_IF_ERROR(
        engine.Reconstruct(golden.pixels.data(), golden.count, false, 0, out.data()));
  } else {  // a generator's are its samples of seed 0 (edgevae/model_file.h)
    EVAE_RETURN_IF_ERROR(engine.Sample(golden.count, 0, out.data()));
  }
  GoldenCheck c;
  c.count = golden.count;
  double sum = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double e = std::fabs(static_cast<double>(out[i]) - golden.reconstruction[i]);
    c.max_abs_error = std::max(c.max_abs_error, e);
    sum += e;
  }
  c.mean_abs_error = sum / static_cast<double>(out.size());
  c.pass = c.max_abs_error <= golden.max_abs_error && c.mean_abs_error <= golden.mean_abs_error;
  return c;
}

}  // namespace edgevae
