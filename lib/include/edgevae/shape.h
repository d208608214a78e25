// The VAE's shape is a compile-time type: Shape<input, hidden, latent>. The layer sizes are
// constants in the kernels and buffers built for it; a model file names its shape and loading a
// shape that is not compiled in fails with the list of those that are.
//
// Layout (the canonical PyTorch VAE example): fc1 input->hidden ReLU; fc21 / fc22 hidden->latent
// for mu and logvar; fc3 latent->hidden ReLU; fc4 hidden->input, sigmoid (Bernoulli logits).
#ifndef EDGEVAE_SHAPE_H_
#define EDGEVAE_SHAPE_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "edgevae/status.h"

namespace edgevae {

struct ShapeInfo {
  std::string_view name;
  int input;
  int hidden;
  int latent;

  // Number of trainable parameters (weights and biases of the five layers).
  constexpr size_t ParamCount() const {
    const size_t i = input, h = hidden, l = latent;
    return (h * i + h) + 2 * (l * h + l) + (h * l + h) + (i * h + i);
  }
  friend constexpr bool operator==(const ShapeInfo& a, const ShapeInfo& b) {
    return a.input == b.input && a.hidden == b.hidden && a.latent == b.latent;
  }
};

template <int kInput, int kHidden, int kLatent>
struct Shape {
  static constexpr int kIn = kInput;
  static constexpr int kHid = kHidden;
  static constexpr int kLat = kLatent;
};

struct MnistShape : Shape<784, 400, 20> {
  static constexpr ShapeInfo kInfo{"mnist", 784, 400, 20};
};
struct Mnist2dShape : Shape<784, 400, 2> {
  static constexpr ShapeInfo kInfo{"mnist2d", 784, 400, 2};
};

// Every shape compiled into this build.
std::span<const ShapeInfo> CompiledShapes();
// "mnist (784-400-20), mnist2d (784-400-2)": for messages.
std::string CompiledShapeList();
// Looks a shape up by name; the error lists the compiled shapes.
StatusOr<ShapeInfo> FindShape(std::string_view name);
// Looks a shape up by its sizes (a model file records both; they must agree).
StatusOr<ShapeInfo> FindShape(int input, int hidden, int latent);

// Calls f(ShapeType{}) with the compile-time type of `info` (which must be compiled in).
template <typename F>
decltype(auto) VisitShape(const ShapeInfo& info, F&& f) {
  if (info == Mnist2dShape::kInfo) return f(Mnist2dShape{});
  return f(MnistShape{});
}

}  // namespace edgevae

#endif  // EDGEVAE_SHAPE_H_
