// DigitHandler (firmware/digits/serve/serve.h) without sockets: every route, its PNGs decoded
// with libpng's own reader and compared with what the engine decodes for the same latent vector,
// and the 400 / 404 answers to bad queries and missing model features. The models are made in
// memory (seeded initialisation, int8 quantized on synthetic images): these tests check the
// plumbing, not the quality of the digits (the browser test serves trained models).
//
// Named *_tests.cc, not *_test.cc: tests/CMakeLists.txt globs the latter into programs that link
// the library alone; this one is built by tests/serve/CMakeLists.txt.
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/image.h"
#include "edgevae/latent.h"
#include "edgevae/model.h"
#include "edgevae/quant.h"
#include "edgevae/runtime.h"
#include "common/png_decode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "serve.h"

namespace edgevae::digits {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Png = GreyImage;
using edgevae::testutil::DecodeGreyPng;

// The bytes MakeGrid would give for decoded pixels: the expected content of a served image.
std::vector<uint8_t> ToBytes(const std::vector<float>& pixels, int n) {
  StatusOr<GreyImage> grid = MakeGrid(pixels.data(), n, 28, 28, n, 0);
  EXPECT_TRUE(grid.ok()) << grid.status().message();
  return grid.ok() ? grid->pixels : std::vector<uint8_t>();
}

Model SeededModel(const ShapeInfo& shape, uint64_t seed) {
  StatusOr<Model> model = Model::Create(shape);
  EXPECT_TRUE(model.ok()) << model.status().message();
  model->InitializeLikeTorch(seed);
  return std::move(model).value();
}

// Class statistics with distinct means and a full (not diagonal) covariance, for labels given;
// 7 and 9 (when given) have a second component, making their classes Gaussian mixtures.
std::vector<ClassLatentStats> MakeClassStats(int latent, const std::vector<int>& labels) {
  std::vector<ClassLatentStats> all;
  std::vector<std::pair<int, int>> entries;  // label, component
  for (int label : labels) {
    entries.emplace_back(label, 0);
    if (label == 7 || label == 9) entries.emplace_back(label, 1);
  }
  for (const auto& [label, component] : entries) {
    ClassLatentStats s;
    s.label = label;
    s.count = 100 + 50 * component;
    s.mean.resize(latent);
    for (int i = 0; i < latent; ++i) {
      s.mean[i] = 0.3f * std::sin(1.7f * label + 0.9f * i) + (component ? 1.2f : 0.0f);
    }
    s.cov.assign(static_cast<size_t>(latent) * latent, 0.0f);
    for (int i = 0; i < latent; ++i) {
      for (int j = 0; j < latent; ++j) {
        s.cov[i * latent + j] = (i == j ? 0.5f : 0.0f) + (std::abs(i - j) == 1 ? 0.1f : 0.0f);
      }
    }
    all.push_back(std::move(s));
  }
  return all;
}

// Synthetic images for calibrating an int8 model (smooth blobs, not noise).
ImageSet CalibrationImages(int count) {
  ImageSet set;
  set.count = count;
  set.rows = 28;
  set.cols = 28;
  set.pixels.resize(static_cast<size_t>(count) * 784);
  for (int n = 0; n < count; ++n) {
    for (int r = 0; r < 28; ++r) {
      for (int c = 0; c < 28; ++c) {
        const float d = std::hypot(r - 14.0f - (n % 5), c - 14.0f + (n % 3));
        set.pixels[static_cast<size_t>(n) * 784 + r * 28 + c] = static_cast<uint8_t>(
            std::clamp(255.0f * (1.0f - std::abs(d - 7.0f) / 3.0f), 0.0f, 255.0f));
      }
    }
  }
  return set;
}

AnyModel F32Model(const ShapeInfo& shape, uint64_t seed, const std::vector<int>& labels) {
  AnyModel any;
  any.f32 = SeededModel(shape, seed);
  any.f32->metadata().class_latents = MakeClassStats(shape.latent, labels);
  return any;
}

AnyModel Int8AnyModel(const ShapeInfo& shape, uint64_t seed, const std::vector<int>& labels) {
  Model model = SeededModel(shape, seed);
  model.metadata().class_latents = MakeClassStats(shape.latent, labels);
  StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(1);
  EXPECT_TRUE(runtime.ok()) << runtime.status().message();
  StatusOr<Int8Model> q =
      QuantizeInt8(model, runtime->get(), CalibrationImages(64), Calibration::kMinMax, 64);
  EXPECT_TRUE(q.ok()) << q.status().message();
  AnyModel any;
  any.int8 = std::move(q).value();
  any.int8->metadata.class_latents = MakeClassStats(shape.latent, labels);
  return any;
}

const std::vector<int> kAllDigits = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

std::unique_ptr<DigitHandler> MakeHandler(const AnyModel& model, const AnyModel* model2d,
                                          uint64_t seed = 0) {
  ServeOptions options;
  options.seed = seed;
  StatusOr<std::unique_ptr<DigitHandler>> h = DigitHandler::Create(options, model, model2d);
  EXPECT_TRUE(h.ok()) << h.status().message();
  return h.ok() ? std::move(h).value() : nullptr;
}

std::unique_ptr<Engine> MakeEngine(const AnyModel& model, int max_batch) {
  EngineOptions options;
  options.max_batch = max_batch;
  StatusOr<std::unique_ptr<Engine>> e = Engine::Create(model, options);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? std::move(e).value() : nullptr;
}

// What the engine decodes for one latent vector, as served bytes.
std::vector<uint8_t> Expected(Engine& engine, const std::vector<float>& z) {
  std::vector<float> pixels(784, std::nanf(""));
  EXPECT_TRUE(engine.Decode(z.data(), 1, pixels.data()).ok());
  return ToBytes(pixels, 1);
}

class HandlerTest : public ::testing::TestWithParam<bool> {  // param: int8 model
 protected:
  void SetUp() override {
    model_ = GetParam() ? Int8AnyModel(MnistShape::kInfo, 3, kAllDigits)
                        : F32Model(MnistShape::kInfo, 3, kAllDigits);
    model2d_ = GetParam() ? Int8AnyModel(Mnist2dShape::kInfo, 5, {})
                          : F32Model(Mnist2dShape::kInfo, 5, {});
    handler_ = MakeHandler(model_, &model2d_, 1000);
    ASSERT_NE(handler_, nullptr);
    engine_ = MakeEngine(model_, 1);
    engine2d_ = MakeEngine(model2d_, 30);
    ASSERT_NE(engine_, nullptr);
    ASSERT_NE(engine2d_, nullptr);
  }
  HttpResponse Get(const std::string& path, const QueryParams& params = {}) {
    return handler_->Handle(path, params);
  }
  // A 200 PNG of the given size, decoded.
  Png GetPng(const std::string& path, const QueryParams& params, int side = 28) {
    const HttpResponse r = Get(path, params);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "image/png");
    Png png = DecodeGreyPng(r.body);
    EXPECT_EQ(png.width, side);
    EXPECT_EQ(png.height, side);
    return png;
  }
  LatentMixture Mixture(int label) {
    const std::vector<ClassLatentStats>& stats =
        model_.int8 ? model_.int8->metadata.class_latents : model_.f32->metadata().class_latents;
    StatusOr<LatentMixture> m = LatentMixture::ForLabel(stats, label);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return std::move(m).value();
  }

  AnyModel model_, model2d_;
  std::unique_ptr<DigitHandler> handler_;
  std::unique_ptr<Engine> engine_, engine2d_;
};

TEST_P(HandlerTest, PageAndInfo) {
  const HttpResponse page = Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.content_type, StartsWith("text/html"));
  // The buttons "digit-0".."digit-9" are made by the page's script (the browser test clicks one).
  EXPECT_THAT(page.body, AllOf(StartsWith("<!doctype html>"), HasSubstr("\"digit-\" + d"),
                               HasSubstr("/digit?d="), HasSubstr("/sample?seed="),
                               HasSubstr("/interpolate?a="), HasSubstr("/latent2d?x="),
                               HasSubstr("/manifold?grid=")));
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page must be self-contained";
  EXPECT_EQ(page.body.find("https://"), std::string::npos) << "the page must be self-contained";

  const HttpResponse info = Get("/info");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(info.content_type, "application/json");
  const nlohmann::json j = nlohmann::json::parse(info.body);
  EXPECT_EQ(j["latent"], 20);
  EXPECT_EQ(j["classes"], nlohmann::json(kAllDigits));
  EXPECT_EQ(j["model2d"], true);
  EXPECT_EQ(j["dtype"], GetParam() ? "int8" : "f32");
}

TEST_P(HandlerTest, DigitIsTheClassMixtureDecoded) {
  for (int d : {0, 7, 9}) {
    for (uint64_t seed : {uint64_t{0}, uint64_t{42}, ~uint64_t{0}}) {
      const std::string seed_text = std::to_string(seed);
      const HttpResponse r = Get("/digit", {{"d", std::to_string(d)}, {"seed", seed_text}});
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.seed, seed_text);
      const Png png = DecodeGreyPng(r.body);
      std::vector<float> z(20, std::nanf(""));
      Mixture(d).Sample(seed, 1, z.data());
      EXPECT_EQ(png.pixels, Expected(*engine_, z)) << "d=" << d << " seed=" << seed;
    }
  }
}

TEST_P(HandlerTest, WithoutASeedEachRequestDrawsTheNextOne) {
  const HttpResponse a = Get("/digit", {{"d", "7"}});
  const HttpResponse b = Get("/digit", {{"d", "7"}});
  const HttpResponse c = Get("/sample");
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  ASSERT_EQ(c.status, 200);
  // The handler was made with seed 1000: its sequence is 1000, 1001, ...
  EXPECT_EQ(a.seed, "1000");
  EXPECT_EQ(b.seed, "1001");
  EXPECT_EQ(c.seed, "1002");
  EXPECT_NE(a.body, b.body);
  // The same seed asked for explicitly gives the same image.
  EXPECT_EQ(Get("/digit", {{"d", "7"}, {"seed", "1001"}}).body, b.body);
}

TEST_P(HandlerTest, SampleIsTheEnginesPriorSample) {
  const Png png = GetPng("/sample", {{"seed", "77"}});
  std::vector<float> pixels(784, std::nanf(""));
  ASSERT_TRUE(engine_->Sample(1, 77, pixels.data()).ok());
  EXPECT_EQ(png.pixels, ToBytes(pixels, 1));
}

TEST_P(HandlerTest, InterpolateJoinsClassMeansOrDraws) {
  const LatentMixture a = Mixture(4);
  const LatentMixture b = Mixture(9);  // a mixture of two
  for (const char* mode : {"slerp", "lerp"}) {
    for (double t : {0.0, 0.3, 1.0}) {
      std::vector<float> z(20, std::nanf(""));
      if (std::string(mode) == "slerp") {
        SlerpLatent(a.mean().data(), b.mean().data(), static_cast<float>(t), 20, z.data());
      } else {
        LerpLatent(a.mean().data(), b.mean().data(), static_cast<float>(t), 20, z.data());
      }
      char t_text[16];
      std::snprintf(t_text, sizeof(t_text), "%g", t);
      const Png png =
          GetPng("/interpolate", {{"a", "4"}, {"b", "9"}, {"t", t_text}, {"mode", mode}});
      EXPECT_EQ(png.pixels, Expected(*engine_, z)) << mode << " t=" << t;
    }
  }
  // slerp is the default; t = 0 is class 4's mean.
  EXPECT_EQ(Get("/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "0.3"}}).body,
            Get("/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "0.3"}, {"mode", "slerp"}}).body);
  EXPECT_EQ(GetPng("/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "0"}}).pixels,
            Expected(*engine_, a.mean()));

  // With a seed: one draw from each class.
  std::vector<float> za(20), zb(20), z(20);
  a.Sample(5, 1, za.data());
  b.Sample(5, 1, zb.data());
  LerpLatent(za.data(), zb.data(), 0.5f, 20, z.data());
  EXPECT_EQ(GetPng("/interpolate",
                   {{"a", "4"}, {"b", "9"}, {"t", "0.5"}, {"mode", "lerp"}, {"seed", "5"}})
                .pixels,
            Expected(*engine_, z));
}

TEST_P(HandlerTest, Latent2dDecodesThePoint) {
  for (const auto& [x, y] :
       {std::pair{0.0f, 0.0f}, std::pair{-2.5f, 1.25f}, std::pair{8.0f, -8.0f}}) {
    const Png png = GetPng("/latent2d", {{"x", std::to_string(x)}, {"y", std::to_string(y)}});
    EXPECT_EQ(png.pixels, Expected(*engine2d_, {x, y})) << x << ", " << y;
  }
}

TEST_P(HandlerTest, ManifoldIsTheInverseCdfGrid) {
  for (int n : {2, 3, 7}) {
    const Png png = GetPng("/manifold", {{"grid", std::to_string(n)}}, 28 * n);
    // Cell (row, col) decodes z = (Phi^-1((col + 1/2) / n), Phi^-1(1 - (row + 1/2) / n)).
    for (int row = 0; row < n; ++row) {
      for (int col = 0; col < n; ++col) {
        const std::vector<float> z = {static_cast<float>(InverseNormalCdf((col + 0.5) / n)),
                                      static_cast<float>(InverseNormalCdf(1.0 - (row + 0.5) / n))};
        const std::vector<uint8_t> want = Expected(*engine2d_, z);
        for (int r = 0; r < 28; ++r) {
          for (int c = 0; c < 28; ++c) {
            ASSERT_EQ(png.pixels[(row * 28 + r) * png.width + col * 28 + c], want[r * 28 + c])
                << "grid " << n << " cell (" << row << ", " << col << ") pixel (" << r << ", " << c
                << ")";
          }
        }
      }
    }
  }
  EXPECT_EQ(GetPng("/manifold", {}, 28 * 20).width, 560);  // the default grid: 20
  EXPECT_EQ(GetPng("/manifold", {{"grid", "30"}}, 28 * 30).width, 840);
}

INSTANTIATE_TEST_SUITE_P(F32AndInt8, HandlerTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "int8" : "f32"; });

// Every bad query: 400, text, one line naming the path and the parameter.
TEST(HandlerErrors, BadQueriesGet400NamingTheParameter) {
  const AnyModel model = F32Model(MnistShape::kInfo, 1, kAllDigits);
  const AnyModel model2d = F32Model(Mnist2dShape::kInfo, 2, {});
  std::unique_ptr<DigitHandler> h = MakeHandler(model, &model2d);
  ASSERT_NE(h, nullptr);
  struct Case {
    std::string path;
    QueryParams params;
    std::string expected;  // in the message
  };
  const Case cases[] = {
      {"/digit", {}, "missing parameter d"},
      {"/digit", {{"d", "10"}}, "d must be an integer in 0..9, got '10'"},
      {"/digit", {{"d", "-1"}}, "got '-1'"},
      {"/digit", {{"d", "7x"}}, "got '7x'"},
      {"/digit", {{"d", ""}}, "got ''"},
      {"/digit", {{"d", " 7"}}, "got ' 7'"},
      {"/digit", {{"d", "99999999999999999999"}}, "d must be an integer"},
      {"/digit", {{"d", "7"}, {"seed", "-3"}}, "seed must be an integer"},
      {"/digit", {{"d", "7"}, {"seed", "18446744073709551616"}}, "seed must be an integer"},
      {"/digit", {{"d", "7"}, {"colour", "red"}}, "unknown parameter 'colour' (expected d, seed)"},
      {"/digit", {{"d", "7"}, {"d", "8"}}, "parameter d given more than once"},
      {"/sample", {{"n", "3"}}, "unknown parameter 'n'"},
      {"/sample", {{"seed", "abc"}}, "got 'abc'"},
      {"/interpolate", {{"a", "4"}, {"b", "9"}}, "missing parameter t"},
      {"/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "1.5"}}, "t must be a number in [0, 1]"},
      {"/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "nan"}}, "got 'nan'"},
      {"/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "inf"}}, "got 'inf'"},
      {"/interpolate",
       {{"a", "4"}, {"b", "9"}, {"t", "0.5"}, {"mode", "cubic"}},
       "mode must be slerp or lerp, got 'cubic'"},
      {"/latent2d", {{"x", "0"}}, "missing parameter y"},
      {"/latent2d", {{"x", "0"}, {"y", "9"}}, "y must be a number in [-8, 8], got '9'"},
      {"/latent2d", {{"x", "1e400"}, {"y", "0"}}, "x must be a number"},
      {"/manifold", {{"grid", "1"}}, "grid must be an integer in 2..30, got '1'"},
      {"/manifold", {{"grid", "31"}}, "got '31'"},
      {"/", {{"x", "1"}}, "unknown parameter 'x' (this path takes none)"},
      {"/digit", {{"d", std::string("7\n\x01", 3)}}, "got '7\\x0a\\x01'"},
      {"/digit", {{"d", std::string(100, '9')}}, "'9999999999999999999999999999999999999999...'"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = h->Handle(c.path, c.params);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.expected;
    EXPECT_THAT(r.content_type, StartsWith("text/plain"));
    EXPECT_THAT(r.body, AllOf(StartsWith(c.path + ": "), HasSubstr(c.expected)));
    // One line: the message, then a newline, nothing else.
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << r.body;
    EXPECT_TRUE(r.seed.empty());
  }
}

TEST(HandlerErrors, UnknownPathIs404) {
  const AnyModel model = F32Model(MnistShape::kInfo, 1, kAllDigits);
  std::unique_ptr<DigitHandler> h = MakeHandler(model, nullptr);
  ASSERT_NE(h, nullptr);
  for (const char* path : {"/favicon.ico", "/digits", "/digit/7", "/../etc/passwd", ""}) {
    const HttpResponse r = h->Handle(path, {});
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_THAT(r.body, HasSubstr("not found"));
  }
}

TEST(HandlerErrors, WhatTheModelsCannotDoIs404SayingWhy) {
  // No class statistics at all, and no 2-D model.
  const AnyModel bare = F32Model(MnistShape::kInfo, 1, {});
  std::unique_ptr<DigitHandler> h = MakeHandler(bare, nullptr);
  ASSERT_NE(h, nullptr);
  HttpResponse r = h->Handle("/digit", {{"d", "7"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body,
              AllOf(HasSubstr("no latent statistics for digit 7"), HasSubstr("no class_latents")));
  r = h->Handle("/interpolate", {{"a", "4"}, {"b", "9"}, {"t", "0.5"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("digit 4"));
  for (const char* path : {"/latent2d", "/manifold"}) {
    QueryParams params;
    if (std::string(path) == "/latent2d") params = {{"x", "0"}, {"y", "0"}};
    r = h->Handle(path, params);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_THAT(r.body, HasSubstr("no 2-D model is loaded"));
  }
  // Samples still work, and /info says what is missing.
  EXPECT_EQ(h->Handle("/sample", {}).status, 200);
  const nlohmann::json info = nlohmann::json::parse(h->Handle("/info", {}).body);
  EXPECT_TRUE(info["classes"].empty());
  EXPECT_EQ(info["model2d"], false);

  // Some classes only (a one-class model): the others are 404 without the no-class_latents hint.
  const AnyModel some = F32Model(MnistShape::kInfo, 1, {3});
  h = MakeHandler(some, nullptr);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->Handle("/digit", {{"d", "3"}}).status, 200);
  r = h->Handle("/digit", {{"d", "4"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("digit 4"));
  EXPECT_EQ(r.body.find("class_latents"), std::string::npos) << r.body;
}

TEST(HandlerErrors, CreateRejectsModelsItCannotServe) {
  const AnyModel model = F32Model(MnistShape::kInfo, 1, kAllDigits);
  ServeOptions options;
  // The 20-D model where the 2-D one belongs.
  StatusOr<std::unique_ptr<DigitHandler>> h = DigitHandler::Create(options, model, &model);
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(h.status().message(), HasSubstr("latent space of 20 dimensions, expected 2"));

  // Class statistics that are not a covariance.
  AnyModel broken = F32Model(MnistShape::kInfo, 1, {5});
  broken.f32->metadata().class_latents[0].cov[1] = std::nanf("");
  h = DigitHandler::Create(options, broken, nullptr);
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(h.status().message(), HasSubstr("class_latents of label 5"));

  // Class statistics of another latent size.
  AnyModel other = F32Model(MnistShape::kInfo, 1, {});
  other.f32->metadata().class_latents = MakeClassStats(3, {2});
  h = DigitHandler::Create(options, other, nullptr);
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(h.status().message(), HasSubstr("has 3 dimensions"));
}

// More models (a GAN's generator beside the VAE): /info lists them, /sample?model=M is that
// model's prior sample, the main model stays the default, and a model not loaded is 404.
TEST(HandlerFamilies, SampleOfEachLoadedModel) {
  const AnyModel vae = F32Model(MnistShape::kInfo, 1, kAllDigits);
  AnyModel gan;
  gan.f32 = SeededModel(GanGeneratorShape::kInfo, 5);
  AnyModel whole;  // the GAN's training checkpoint: the engine leaves its discriminator out
  whole.f32 = SeededModel(GanShape::kInfo, 6);
  ServeOptions options;
  StatusOr<std::unique_ptr<DigitHandler>> h =
      DigitHandler::Create(options, vae, nullptr, {&gan, &whole});
  ASSERT_TRUE(h.ok()) << h.status().message();
  const HttpResponse info = (*h)->Handle("/info", {});
  const nlohmann::json j = nlohmann::json::parse(info.body);
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["models"][0].value("family", ""), "vae");
  EXPECT_EQ(j["models"][1].value("family", ""), "gan");
  EXPECT_EQ(j["models"][1].value("shape", ""), "gan-generator");
  EXPECT_EQ(j["models"][2].value("shape", ""), "gan");
  for (int m = 0; m < 3; ++m) {
    const AnyModel& model = m == 0 ? vae : m == 1 ? gan : whole;
    const HttpResponse r = (*h)->Handle("/sample", {{"seed", "9"}, {"model", std::to_string(m)}});
    ASSERT_EQ(r.status, 200) << r.body;
    std::unique_ptr<Engine> e = MakeEngine(model, 1);
    std::vector<float> pixels(784);
    ASSERT_TRUE(e->Sample(1, 9, pixels.data()).ok());
    EXPECT_EQ(DecodeGreyPng(r.body).pixels, ToBytes(pixels, 1)) << "model " << m;
  }
  EXPECT_EQ((*h)->Handle("/sample", {{"seed", "9"}}).body,
            (*h)->Handle("/sample", {{"seed", "9"}, {"model", "0"}}).body);
  HttpResponse r = (*h)->Handle("/sample", {{"model", "3"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("no model 3 is loaded"));
  r = (*h)->Handle("/sample", {{"model", "x"}});
  EXPECT_EQ(r.status, 400);
  // A classifier draws nothing; more than kMaxFamilies are refused.
  AnyModel judge;
  judge.f32 = SeededModel(JudgeShape::kInfo, 2);
  EXPECT_FALSE(DigitHandler::Create(options, vae, nullptr, {&judge}).ok());
  std::vector<const AnyModel*> many(kMaxFamilies + 1, &gan);
  EXPECT_FALSE(DigitHandler::Create(options, vae, nullptr, many).ok());
}

// Many threads at once: every answer is the one a lone request gets (the engines are shared
// behind the handler's lock).
TEST(HandlerConcurrency, ParallelRequestsGetTheirOwnImages) {
  const AnyModel model = F32Model(MnistShape::kInfo, 1, kAllDigits);
  const AnyModel model2d = F32Model(Mnist2dShape::kInfo, 2, {});
  std::unique_ptr<DigitHandler> h = MakeHandler(model, &model2d);
  ASSERT_NE(h, nullptr);
  auto params = [](int i) -> std::pair<std::string, QueryParams> {
    switch (i % 4) {
      case 0:
        return {"/digit", {{"d", std::to_string(i % 10)}, {"seed", std::to_string(i)}}};
      case 1:
        return {"/sample", {{"seed", std::to_string(i)}}};
      case 2:
        return {"/latent2d", {{"x", std::to_string(i % 7 - 3)}, {"y", "0.5"}}};
      default:
        return {"/manifold", {{"grid", std::to_string(2 + i % 5)}}};
    }
  };
  constexpr int kRequests = 64;
  std::vector<std::string> alone(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    const auto [path, q] = params(i);
    alone[i] = h->Handle(path, q).body;
  }
  std::vector<std::string> together(kRequests);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kRequests; i += 4) {
        const auto [path, q] = params(i);
        together[i] = h->Handle(path, q).body;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(together[i], alone[i]) << "request " << i;
}

}  // namespace
}  // namespace edgevae::digits
