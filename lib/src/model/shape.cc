#include "edgevae/shape.h"

#include <array>

namespace edgevae {
namespace {
constexpr std::array<ShapeInfo, 2> kShapes = {MnistShape::kInfo, Mnist2dShape::kInfo};
}  // namespace

std::span<const ShapeInfo> CompiledShapes() { return kShapes; }

std::string CompiledShapeList() {
  std::string out;
  for (const ShapeInfo& s : kShapes) {
    if (!out.empty()) out += ", ";
    out += std::string(s.name) + " (" + std::to_string(s.input) + "-" + std::to_string(s.hidden) +
           "-" + std::to_string(s.latent) + ")";
  }
  return out;
}

StatusOr<ShapeInfo> FindShape(std::string_view name) {
  for (const ShapeInfo& s : kShapes) {
    if (s.name == name) return s;
  }
  return Unsupported("shape '" + std::string(name) + "' is not compiled in; compiled shapes: " +
                     CompiledShapeList());
}

StatusOr<ShapeInfo> FindShape(int input, int hidden, int latent) {
  for (const ShapeInfo& s : kShapes) {
    if (s.input == input && s.hidden == hidden && s.latent == latent) return s;
  }
  return Unsupported("shape " + std::to_string(input) + "-" + std::to_string(hidden) + "-" +
                     std::to_string(latent) + " is not compiled in; compiled shapes: " +
                     CompiledShapeList());
}

}  // namespace edgevae
