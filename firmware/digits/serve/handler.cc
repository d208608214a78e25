// DigitHandler: the web demo's requests, without sockets (serve.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/image.h"
#include "edgevae/latent.h"
#include "edgevae/status.h"
#include "nlohmann/json.hpp"
#include "page.h"
#include "serve.h"

namespace edgevae::digits {
namespace {

constexpr int kClasses = 10;
constexpr int kMaxGrid = 30;          // /manifold: at most 30 x 30 digits (840 x 840 pixels)
constexpr int kDefaultGrid = 20;      // the AEVB paper's figure 4
constexpr double kMaxLatent2d = 8.0;  // /latent2d: |x|, |y| bound (8 sigma of the prior)

HttpResponse Text(int status, std::string message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(message);
  r.body += '\n';
  return r;
}

HttpResponse BadRequest(std::string_view path, const std::string& message) {
  return Text(400, std::string(path) + ": " + message);
}

// Quotes a client's value for a message, cut short and with control bytes escaped so that the
// message stays one printable line.
std::string Quote(std::string_view value) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kMax) out += "...";
  return out + "'";
}

// The query of one request: rejects names it does not know and names given twice, then reads
// values by name. The first error sticks; later reads return nullopt.
class Query {
 public:
  Query(std::string_view path, const QueryParams& params, std::initializer_list<const char*> known)
      : path_(path), params_(params) {
    for (auto it = params.begin(); it != params.end() && error_.empty(); ++it) {
      const bool is_known =
          std::any_of(known.begin(), known.end(), [&](const char* k) { return it->first == k; });
      if (!is_known) {
        std::string names;
        for (const char* k : known) names += std::string(names.empty() ? "" : ", ") + k;
        error_ = "unknown parameter " + Quote(it->first) +
                 (names.empty() ? " (this path takes none)" : " (expected " + names + ")");
      } else if (params.count(it->first) > 1) {
        error_ = "parameter " + it->first + " given more than once";
      }
    }
  }

  bool ok() const { return error_.empty(); }
  HttpResponse Error() const { return BadRequest(path_, error_); }
  bool Has(const char* name) const { return params_.count(name) > 0; }

  std::optional<int> Int(const char* name, int min, int max) {
    const std::string* value = Get(name);
    if (value == nullptr) return std::nullopt;
    int v = 0;
    const char* end = value->data() + value->size();
    const auto [ptr, ec] = std::from_chars(value->data(), end, v);
    if (value->empty() || ec != std::errc() || ptr != end || v < min || v > max) {
      return Fail(std::string(name) + " must be an integer in " + std::to_string(min) + ".." +
                  std::to_string(max) + ", got " + Quote(*value));
    }
    return v;
  }

  std::optional<double> Real(const char* name, double min, double max) {
    const std::string* value = Get(name);
    if (value == nullptr) return std::nullopt;
    double v = 0;
    const char* end = value->data() + value->size();
    const auto [ptr, ec] = std::from_chars(value->data(), end, v);
    if (value->empty() || ec != std::errc() || ptr != end || !std::isfinite(v) || v < min ||
        v > max) {
      return Fail(std::string(name) + " must be a number in [" + Format(min) + ", " + Format(max) +
                  "], got " + Quote(*value));
    }
    return v;
  }

  std::optional<uint64_t> Seed() {
    const std::string* value = Get("seed");
    if (value == nullptr) return std::nullopt;
    uint64_t v = 0;
    const char* end = value->data() + value->size();
    const auto [ptr, ec] = std::from_chars(value->data(), end, v);
    if (value->empty() || ec != std::errc() || ptr != end) {
      return Fail("seed must be an integer in 0..18446744073709551615, got " + Quote(*value));
    }
    return v;
  }

  std::optional<std::string> OneOf(const char* name, std::initializer_list<const char*> choices) {
    const std::string* value = Get(name);
    if (value == nullptr) return std::nullopt;
    for (const char* c : choices) {
      if (*value == c) return *value;
    }
    std::string names;
    for (const char* c : choices) names += std::string(names.empty() ? "" : " or ") + c;
    return Fail(std::string(name) + " must be " + names + ", got " + Quote(*value));
  }

  // Fails the query for a missing required parameter.
  void Require(const char* name, const char* what) {
    if (error_.empty() && !Has(name))
      error_ = "missing parameter " + std::string(name) + " (" + what + ")";
  }

 private:
  const std::string* Get(const char* name) {
    if (!error_.empty()) return nullptr;
    const auto it = params_.find(name);
    return it == params_.end() ? nullptr : &it->second;
  }
  std::nullopt_t Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return std::nullopt;
  }
  static std::string Format(double v) {
    char buf[32];
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, ec == std::errc() ? ptr : buf);
  }

  std::string_view path_;
  const QueryParams& params_;
  std::string error_;
};

HttpResponse Internal(std::string_view path, const Status& status) {
  return Text(500, std::string(path) + ": " + status.message());
}

HttpResponse No2dModel(std::string_view path) {
  return Text(404, std::string(path) +
                       ": no 2-D model is loaded (the sliders and the manifold need a mnist2d "
                       "model, such as models/mnist2d.q8.evae)");
}

}  // namespace

StatusOr<std::unique_ptr<DigitHandler>> DigitHandler::Create(
    const ServeOptions& options, const AnyModel& model, const AnyModel* model2d,
    const std::vector<const AnyModel*>& families) {
  std::unique_ptr<DigitHandler> h(new DigitHandler());
  h->base_seed_ = options.seed;
  EngineOptions engine_options;
  engine_options.threads = options.threads;
  engine_options.f16 = model.f16;
  engine_options.max_batch = 1;
  engine_options.sparse_encode = false;  // the server only decodes
  EVAE_ASSIGN_OR_RETURN(h->engine_, Engine::Create(model, engine_options));
  const ShapeInfo& shape = h->engine_->shape();
  size_t pixels = static_cast<size_t>(shape.input);
  if (model2d != nullptr) {
    engine_options.f16 = model2d->f16;
    engine_options.max_batch = kMaxGrid;  // one row of the manifold per call
    EVAE_ASSIGN_OR_RETURN(h->engine2d_, Engine::Create(*model2d, engine_options));
    const ShapeInfo& shape2d = h->engine2d_->shape();
    if (shape2d.latent != 2) {
      return InvalidArgument("serve: the 2-D model has a latent space of " +
                             std::to_string(shape2d.latent) + " dimensions, expected 2");
    }
    if (shape2d.input != shape.input) {
      return InvalidArgument("serve: the 2-D model's images have " + std::to_string(shape2d.input) +
                             " pixels, the main model's " + std::to_string(shape.input));
    }
    pixels = static_cast<size_t>(shape.input) * kMaxGrid;
  }
  if (shape.input != 28 * 28) {
    return InvalidArgument("serve: the model's images have " + std::to_string(shape.input) +
                           " pixels, expected 784 (28 x 28)");
  }
  if (families.size() > static_cast<size_t>(kMaxFamilies)) {
    return InvalidArgument("serve: at most " + std::to_string(kMaxFamilies) +
                           " more models, got " + std::to_string(families.size()));
  }
  size_t latent = static_cast<size_t>(shape.latent);
  for (const AnyModel* more : families) {
    engine_options.f16 = more->f16;
    engine_options.max_batch = 1;
    EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Engine> e, Engine::Create(*more, engine_options));
    if (e->shape().input != shape.input) {
      return InvalidArgument("serve: model '" + std::string(e->shape().name) + "' makes images of " +
                             std::to_string(e->shape().input) + " pixels, expected 784 (28 x 28)");
    }
    latent = std::max(latent, static_cast<size_t>(e->shape().latent));
    h->families_.push_back(std::move(e));
  }
  h->z_.assign(std::max(latent, size_t{2 * kMaxGrid}), 0.0f);
  h->z_a_.assign(shape.latent, 0.0f);
  h->z_b_.assign(shape.latent, 0.0f);
  h->pixels_.assign(pixels, 0.0f);
  h->classes_.resize(kClasses);
  const std::vector<ClassLatentStats>& stats = h->engine_->metadata().class_latents;
  for (int label = 0; label < kClasses; ++label) {
    if (FindClassLatents(stats, label) == nullptr) continue;  // not on the page's keys
    StatusOr<LatentMixture> mixture = LatentMixture::ForLabel(stats, label);
    if (!mixture.ok()) {
      return DataError("serve: class_latents of label " + std::to_string(label) + ": " +
                       mixture.status().message());
    }
    if (mixture->dim() != shape.latent) {
      return DataError("serve: class_latents of label " + std::to_string(label) + " has " +
                       std::to_string(mixture->dim()) + " dimensions, the model's latent space " +
                       std::to_string(shape.latent));
    }
    h->classes_[label] = std::move(mixture).value();
  }
  return h;
}

HttpResponse DigitHandler::Handle(std::string_view path, const QueryParams& params) {
  if (path == "/" || path == "/index.html") {
    Query q(path, params, {});
    if (!q.ok()) return q.Error();
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = kPageHtml;
    return r;
  }
  if (path == "/info") {
    Query q(path, params, {});
    if (!q.ok()) return q.Error();
    return Info();
  }
  if (path == "/digit") return Digit(params);
  if (path == "/sample") return Sample(params);
  if (path == "/interpolate") return Interpolate(params);
  if (path == "/latent2d") return Latent2d(params);
  if (path == "/manifold") return Manifold(params);
  return Text(404, std::string("not found: ") + Quote(path) +
                       " (the page is at /; images at /digit, /sample, /interpolate, /latent2d, "
                       "/manifold)");
}

HttpResponse DigitHandler::Info() const {
  nlohmann::json info;
  info["latent"] = engine_->shape().latent;
  info["dtype"] = engine_->dtype();
  nlohmann::json classes = nlohmann::json::array();
  for (int label = 0; label < kClasses; ++label) {
    if (classes_[label]) classes.push_back(label);
  }
  info["classes"] = classes;
  info["model2d"] = engine2d_ != nullptr;
  if (engine2d_) info["model2d_dtype"] = engine2d_->dtype();
  // Every model /sample?model=M draws from, the main one first.
  nlohmann::json models = nlohmann::json::array();
  for (const Engine* e : {engine_.get()}) {
    models.push_back({{"family", FamilyName(e->shape().family)},
                      {"shape", std::string(e->shape().name)},
                      {"dtype", e->dtype()}});
  }
  for (const auto& e : families_) {
    models.push_back({{"family", FamilyName(e->shape().family)},
                      {"shape", std::string(e->shape().name)},
                      {"dtype", e->dtype()}});
  }
  info["models"] = models;
  info["max_grid"] = kMaxGrid;
  info["max_latent2d"] = kMaxLatent2d;
  HttpResponse r;
  r.content_type = "application/json";
  r.body = info.dump();
  return r;
}

uint64_t DigitHandler::NextSeed() {
  return base_seed_ + next_seed_.fetch_add(1, std::memory_order_relaxed);
}

HttpResponse Png(std::string_view path, const GreyImage& image) {
  StatusOr<std::vector<uint8_t>> png = EncodePng(image);
  if (!png.ok()) return Internal(path, png.status());
  HttpResponse r;
  r.content_type = "image/png";
  r.body.assign(png->begin(), png->end());
  return r;
}

template <typename Produce>
HttpResponse DigitHandler::Render(std::string_view path, Produce produce) {
  constexpr int kSide = 28;
  GreyImage image;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status s = produce(pixels_.data()); !s.ok()) return Internal(path, s);
    StatusOr<GreyImage> grid = MakeGrid(pixels_.data(), 1, kSide, kSide, 1, 0);
    if (!grid.ok()) return Internal(path, grid.status());
    image = std::move(grid).value();
  }
  return Png(path, image);
}

HttpResponse DigitHandler::Digit(const QueryParams& params) {
  constexpr std::string_view kPath = "/digit";
  Query q(kPath, params, {"d", "seed"});
  q.Require("d", "the digit, 0..9");
  const std::optional<int> d = q.Int("d", 0, kClasses - 1);
  const std::optional<uint64_t> seed_param = q.Seed();
  if (!q.ok()) return q.Error();
  if (!classes_[*d]) {
    const bool none =
        std::none_of(classes_.begin(), classes_.end(), [](const auto& c) { return c.has_value(); });
    return Text(404, std::string(kPath) + ": the model has no latent statistics for digit " +
                         std::to_string(*d) +
                         (none ? " (its metadata carries no class_latents: use a model whose "
                                 "converter stored per-class statistics, such as the shipped "
                                 "models/mnist.q8.evae)"
                               : ""));
  }
  const uint64_t seed = seed_param ? *seed_param : NextSeed();
  const LatentMixture& mixture = *classes_[*d];
  HttpResponse r = Render(kPath, [&](float* pixels) {
    mixture.Sample(seed, 1, z_.data());
    return engine_->Decode(z_.data(), 1, pixels);
  });
  r.seed = std::to_string(seed);
  return r;
}

HttpResponse DigitHandler::Sample(const QueryParams& params) {
  constexpr std::string_view kPath = "/sample";
  Query q(kPath, params, {"seed", "model"});
  const std::optional<uint64_t> seed_param = q.Seed();
  const std::optional<int> model = q.Int("model", 0, kMaxFamilies);
  if (!q.ok()) return q.Error();
  const size_t m = model ? static_cast<size_t>(*model) : 0;
  if (m > families_.size()) {
    return Text(404, std::string(kPath) + ": no model " + std::to_string(m) + " is loaded (" +
                         std::to_string(families_.size() + 1) + " models: 0.." +
                         std::to_string(families_.size()) + ", see /info)");
  }
  Engine& engine = m == 0 ? *engine_ : *families_[m - 1];
  const uint64_t seed = seed_param ? *seed_param : NextSeed();
  // The library's prior sampler: /sample?seed=S is the first image of `edgevae sample --seed S`.
  HttpResponse r = Render(kPath, [&](float* pixels) { return engine.Sample(1, seed, pixels); });
  r.seed = std::to_string(seed);
  return r;
}

HttpResponse DigitHandler::Interpolate(const QueryParams& params) {
  constexpr std::string_view kPath = "/interpolate";
  Query q(kPath, params, {"a", "b", "t", "mode", "seed"});
  q.Require("a", "the first digit, 0..9");
  q.Require("b", "the second digit, 0..9");
  q.Require("t", "the position between them, 0..1");
  const std::optional<int> a = q.Int("a", 0, kClasses - 1);
  const std::optional<int> b = q.Int("b", 0, kClasses - 1);
  const std::optional<double> t = q.Real("t", 0.0, 1.0);
  const std::optional<std::string> mode = q.OneOf("mode", {"slerp", "lerp"});
  const std::optional<uint64_t> seed = q.Seed();
  if (!q.ok()) return q.Error();
  for (const int label : {*a, *b}) {
    if (!classes_[label]) {
      return Text(404, std::string(kPath) + ": the model has no latent statistics for digit " +
                           std::to_string(label));
    }
  }
  const LatentMixture& ga = *classes_[*a];
  const LatentMixture& gb = *classes_[*b];
  const int dim = engine_->shape().latent;
  const bool slerp = !mode || *mode == "slerp";
  const float tf = static_cast<float>(*t);
  // Without a seed the walk joins the two class means, so every frame of an animation agrees;
  // with one it joins one draw from each class (the same seed for both ends).
  return Render(kPath, [&](float* pixels) {
    float* z = z_.data();
    if (seed) {
      ga.Sample(*seed, 1, z_a_.data());
      gb.Sample(*seed, 1, z_b_.data());
    } else {
      std::copy(ga.mean().begin(), ga.mean().end(), z_a_.begin());
      std::copy(gb.mean().begin(), gb.mean().end(), z_b_.begin());
    }
    if (slerp) {
      SlerpLatent(z_a_.data(), z_b_.data(), tf, dim, z);
    } else {
      LerpLatent(z_a_.data(), z_b_.data(), tf, dim, z);
    }
    return engine_->Decode(z, 1, pixels);
  });
}

HttpResponse DigitHandler::Latent2d(const QueryParams& params) {
  constexpr std::string_view kPath = "/latent2d";
  Query q(kPath, params, {"x", "y"});
  q.Require("x", "the first latent coordinate");
  q.Require("y", "the second latent coordinate");
  const std::optional<double> x = q.Real("x", -kMaxLatent2d, kMaxLatent2d);
  const std::optional<double> y = q.Real("y", -kMaxLatent2d, kMaxLatent2d);
  if (!q.ok()) return q.Error();
  if (!engine2d_) return No2dModel(kPath);
  return Render(kPath, [&](float* pixels) {
    z_[0] = static_cast<float>(*x);
    z_[1] = static_cast<float>(*y);
    return engine2d_->Decode(z_.data(), 1, pixels);
  });
}

HttpResponse DigitHandler::Manifold(const QueryParams& params) {
  constexpr std::string_view kPath = "/manifold";
  constexpr int kSide = 28;
  Query q(kPath, params, {"grid"});
  const int n = q.Int("grid", 2, kMaxGrid).value_or(kDefaultGrid);
  if (!q.ok()) return q.Error();
  if (!engine2d_) return No2dModel(kPath);
  // Equally spaced probabilities through Phi^-1, as in the AEVB paper: x grows to the right,
  // y upwards (row 0 is the largest y), like a plot of the latent plane.
  GreyImage image;
  image.width = n * kSide;
  image.height = n * kSide;
  image.pixels.resize(static_cast<size_t>(image.width) * image.height);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int row = 0; row < n; ++row) {
      const float y = static_cast<float>(InverseNormalCdf(1.0 - (row + 0.5) / n));
      for (int col = 0; col < n; ++col) {
        z_[2 * col] = static_cast<float>(InverseNormalCdf((col + 0.5) / n));
        z_[2 * col + 1] = y;
      }
      if (Status s = engine2d_->Decode(z_.data(), n, pixels_.data()); !s.ok()) {
        return Internal(kPath, s);
      }
      StatusOr<GreyImage> strip = MakeGrid(pixels_.data(), n, kSide, kSide, n, 0);
      if (!strip.ok()) return Internal(kPath, strip.status());
      std::copy(strip->pixels.begin(), strip->pixels.end(),
                image.pixels.begin() + static_cast<size_t>(row) * kSide * image.width);
    }
  }
  return Png(kPath, image);
}

}  // namespace edgevae::digits
