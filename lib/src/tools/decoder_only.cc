#include "edgevae/decoder_only.h"

#include <cmath>
#include <memory>
#include <string>

#include "edgevae/engine.h"

namespace edgevae {

StatusOr<Int8Model> DecoderOnly(const Int8Model& model) {
  const ShapeInfo& s = model.shape;
  if (!s.is_vae() || !s.has_encoder()) {
    return Unsupported("shape '" + std::string(s.name) + "' (a " + FamilyName(s.family) +
                       ") is not a VAE with an encoder: --decoder-only cuts a VAE's decoder");
  }
  EVAE_ASSIGN_OR_RETURN(const ShapeInfo decoder, FindShape(std::string(s.name) + "-decoder"));
  const size_t first = static_cast<size_t>(s.Find(LayerRole::kDecoder));
  if (decoder.layers.size() != s.layers.size() - first) {
    return Internal("shape '" + std::string(decoder.name) + "' is not the decoder of '" +
                    std::string(s.name) + "'");
  }
  for (size_t i = 0; i < decoder.layers.size(); ++i) {
    const LayerInfo& a = decoder.layers[i];
    const LayerInfo& b = s.layers[first + i];
    if (a.name != b.name || a.in != b.in || a.out != b.out || a.activation != b.activation) {
      return Internal("shape '" + std::string(decoder.name) + "' layer " + std::string(a.name) +
                      " is not '" + std::string(s.name) + "''s");
    }
  }
  Int8Model out = model;
  out.shape = decoder;
  out.layers.erase(out.layers.begin(), out.layers.begin() + static_cast<std::ptrdiff_t>(first));
  out.metadata.anomaly.reset();  // scores need the encoder
  EVAE_RETURN_IF_ERROR(CheckInt8Model(out, "the decoder of '" + std::string(s.name) + "'"));
  return out;
}

StatusOr<GoldenVectors> DecoderGoldenVectors(const Int8Model& decoder, int count) {
  if (count <= 0) return InvalidArgument("no golden vectors asked for");
  EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                        Engine::Create(decoder, EngineOptions{.max_batch = count, .threads = 1}));
  GoldenVectors g;
  g.count = count;
  const size_t n = static_cast<size_t>(count) * static_cast<size_t>(decoder.shape.input);
  g.reconstruction.resize(n);
  EVAE_RETURN_IF_ERROR(engine->Sample(count, 0, g.reconstruction.data()));
  g.pixels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    g.pixels[i] = static_cast<uint8_t>(std::lround(g.reconstruction[i] * 255.0f));
  }
  // The headroom edgevae convert gives an int8 file beyond its own error (here zero).
  g.max_abs_error = 0.02;
  g.mean_abs_error = 0.002;
  return g;
}

}  // namespace edgevae
