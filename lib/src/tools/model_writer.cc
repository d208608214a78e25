// Writing model files: tensors and metadata of each dtype through the container writer, after
// checking that the reader would accept what is written.
#include "edgevae/model_writer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/packed_i16.h"
#include "runtime/container.h"
#include "runtime/model_format.h"
#include "tools/metadata_writer.h"

namespace edgevae {
namespace {

using namespace format;  // NOLINT: the layout constants are this file's vocabulary

void AddGoldenTensors(const GoldenVectors& g, int input, std::vector<OutTensor>* outs) {
  const uint64_t n = static_cast<uint64_t>(g.count) * static_cast<uint64_t>(input);
  outs->push_back({kGoldenPixels, DType::kU8, Dims(g.count, input), g.pixels.data(), n});
  outs->push_back(
      {kGoldenReconstruction, DType::kF32, Dims(g.count, input), g.reconstruction.data(), n});
}

// Golden vectors the reader would accept, for a model with `input` pixels.
Status CheckGoldenForSave(const std::string& path, const GoldenVectors& g, int input) {
  const std::string what = path + ": not saving golden vectors: ";
  if (g.count <= 0) {
    return DataError(what + "count is " + std::to_string(g.count) + ", expected at least 1");
  }
  const uint64_t n = static_cast<uint64_t>(g.count) * static_cast<uint64_t>(input);
  if (g.pixels.size() != n || g.reconstruction.size() != n) {
    return DataError(what + std::to_string(g.pixels.size()) + " pixels and " +
                     std::to_string(g.reconstruction.size()) +
                     " reconstruction values, expected count x input = " + std::to_string(n));
  }
  for (size_t i = 0; i < n; ++i) {
    const float v = g.reconstruction[i];
    if (!(v >= 0.0f && v <= 1.0f)) {
      return DataError(what + "reconstruction[" + std::to_string(i) + "] is " + std::to_string(v) +
                       ", expected a value in [0, 1]");
    }
  }
  if (!(g.max_abs_error >= 0 && std::isfinite(g.max_abs_error)) ||
      !(g.mean_abs_error >= 0 && std::isfinite(g.mean_abs_error))) {
    return DataError(what + "thresholds must be finite and >= 0, found max_abs_error " +
                     std::to_string(g.max_abs_error) + ", mean_abs_error " +
                     std::to_string(g.mean_abs_error));
  }
  return Status::Ok();
}

// An int8 model the reader would accept.
Status CheckInt8ForSave(const std::string& path, const Int8Model& m) {
  const std::string what = path + ": not saving int8 model";
  StatusOr<ShapeInfo> shape = FindShape(m.shape.name);
  if (!shape.ok()) return Unsupported(what + ": " + shape.status().message());
  if (m.calibration_images < 0) {
    return DataError(what + ": calibration_images is " + std::to_string(m.calibration_images));
  }
  EVAE_RETURN_IF_ERROR(CheckInt8Model(m, what));
  for (size_t i = 0; m.layout == WeightLayout::kCortexM && i < m.layers.size(); ++i) {
    // The packed layout (and the kernel that reads it) takes [-127, 127], as the quantizer writes.
    const std::span<const int8_t> w = m.layers[i].weight;
    if (w.empty() || std::find(w.begin(), w.end(), int8_t{-128}) != w.end()) {
      return DataError(what + " in the cortex-m layout: " + std::string(m.shape.layers[i].name) +
                       (w.empty() ? " has no int8 weights to pack"
                                  : " has a weight of -128; the layout takes [-127, 127]"));
    }
  }
  return Status::Ok();
}

Status SaveF32(const std::string& path, const Model& model, const GoldenVectors* golden) {
  // Never write a file that LoadModel would refuse.
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": not saving a model with a non-finite weight " + bad);
  }
  if (golden != nullptr)
    EVAE_RETURN_IF_ERROR(CheckGoldenForSave(path, *golden, model.shape().input));

  std::vector<OutTensor> outs;
  for (const TensorView& tv : model.tensors()) {
    outs.push_back(
        {tv.name, DType::kF32, Dims(tv.rows, tv.cols), model.params() + tv.offset, tv.size()});
  }
  OJson j = BaseMetadata(model.metadata(), "f32");
  if (model.has_optimizer()) {
    const uint64_t n = model.param_floats();
    outs.push_back(
        {kAdamM, DType::kF32, {static_cast<uint32_t>(n)}, model.optimizer().m.data(), n});
    outs.push_back(
        {kAdamV, DType::kF32, {static_cast<uint32_t>(n)}, model.optimizer().v.data(), n});
    j["adam_step"] = model.optimizer().step;
  }
  if (golden != nullptr) {
    AddGoldenTensors(*golden, model.shape().input, &outs);
    j["golden"] = GoldenMetadata(*golden);
  }
  return WriteContainer(path, model.shape(), std::move(outs), MetadataText(j));
}

Status SaveF16(const std::string& path, const Model& model, const GoldenVectors* golden) {
  // The loader takes a classifier as f32 only.
  EVAE_RETURN_IF_ERROR(RequireDeployable(model.shape(), "an f16 file"));
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": not saving a model with a non-finite weight " + bad);
  }
  if (golden != nullptr)
    EVAE_RETURN_IF_ERROR(CheckGoldenForSave(path, *golden, model.shape().input));
  // The halves must outlive the tensors that point at them.
  std::vector<std::vector<uint16_t>> halves;
  std::vector<OutTensor> outs;
  for (const TensorView& tv : model.tensors()) {
    halves.emplace_back(tv.size());
    simd::F32ToF16(model.params() + tv.offset, halves.back().data(), tv.size());
    for (uint16_t h : halves.back()) {
      if ((h & 0x7C00) == 0x7C00) {
        return DataError(path + ": " + tv.name + " has a weight beyond the f16 range (65504)");
      }
    }
    outs.push_back({tv.name, DType::kF16, Dims(tv.rows, tv.cols), halves.back().data(), tv.size()});
  }
  OJson j = BaseMetadata(model.metadata(), "f16");
  if (golden != nullptr) {
    AddGoldenTensors(*golden, model.shape().input, &outs);
    j["golden"] = GoldenMetadata(*golden);
  }
  return WriteContainer(path, model.shape(), std::move(outs), MetadataText(j));
}

}  // namespace

Status SaveModel(const std::string& path, const Model& model) {
  return SaveF32(path, model, nullptr);
}

Status SaveF16Model(const std::string& path, const Model& model, const GoldenVectors* golden) {
  return SaveF16(path, model, golden);
}

Status SaveModelWithGolden(const std::string& path, const Model& model,
                           const GoldenVectors& golden) {
  return SaveF32(path, model, &golden);
}

Status SaveInt8Model(const std::string& path, const Int8Model& model, const GoldenVectors* golden) {
  EVAE_RETURN_IF_ERROR(CheckInt8ForSave(path, model));
  if (golden != nullptr) {
    EVAE_RETURN_IF_ERROR(CheckGoldenForSave(path, *golden, model.shape.input));
  }
  std::vector<OutTensor> outs;
  std::vector<std::vector<int16_t>> packed;  // WeightLayout::kCortexM: what the tensors point to
  packed.reserve(model.layers.size());
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Int8Layer& l = model.layers[i];
    const std::string name(model.shape.layers[i].name);
    if (model.layout == WeightLayout::kCortexM) {
      const size_t rows = simd::PackedRows(static_cast<size_t>(l.out));
      const size_t cols = simd::PackedCols(static_cast<size_t>(l.in));
      packed.emplace_back(rows * cols);
      simd::PackI16(l.weight.data(), static_cast<size_t>(l.out), static_cast<size_t>(l.in),
                    packed.back().data());
      outs.push_back({name + ".weight", DType::kI16,
                      Dims(static_cast<int>(rows), static_cast<int>(cols)), packed.back().data(),
                      packed.back().size()});
    } else {
      outs.push_back(
          {name + ".weight", DType::kI8, Dims(l.out, l.in), l.weight.data(), l.weight.size()});
    }
    outs.push_back({name + ".bias", DType::kI32, Dims(l.out, 0), l.bias.data(), l.bias.size()});
    if (!l.channel_scales.empty()) {
      outs.push_back({name + format::kRowScalesSuffix, DType::kF32, Dims(l.out, 0),
                      l.channel_scales.data(), l.channel_scales.size()});
    }
  }
  OJson j = BaseMetadata(model.metadata, "int8");
  j["quantization"] = QuantizationMetadata(model);
  if (golden != nullptr) {
    AddGoldenTensors(*golden, model.shape.input, &outs);
    j["golden"] = GoldenMetadata(*golden);
  }
  return WriteContainer(path, model.shape, std::move(outs), MetadataText(j));
}

}  // namespace edgevae
