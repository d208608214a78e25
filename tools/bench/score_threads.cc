// How to spread `edgevae score` over threads: ParallelScorer (one single-threaded engine per
// thread, each scoring its own images) against one Scorer over one engine whose XNNPACK
// operators use the thread pool. Prints images/s (median of --runs) for each.
//   edgevae_score_threads MODEL IMAGES_IDX [threads=2] [method=elbo] [runs=7]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/score.h"

namespace {

template <typename F>
double MedianSeconds(int runs, const F& f) {
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgevae;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGES_IDX [threads] [method] [runs]\n", argv[0]);
    return 2;
  }
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  ScoreOptions o;
  if (!ParseScoreMethod(argc > 4 ? argv[4] : "elbo", &o).ok()) return 2;
  const int runs = argc > 5 ? std::atoi(argv[5]) : 7;
  auto model = LoadAnyModel(argv[1]);
  auto images = LoadImageSet(argv[2], "");
  if (!model.ok() || !images.ok()) {
    std::fprintf(stderr, "%s\n",
                 (!model.ok() ? model.status() : images.status()).message().c_str());
    return 1;
  }
  const size_t n = images->count;
  std::vector<double> scores(n);

  auto par = ParallelScorer::Create(*model, o, threads);
  auto engine = Engine::Create(*model, EngineOptions{.max_batch = 256, .threads = threads});
  if (!par.ok() || !engine.ok()) return 1;
  auto one = Scorer::Create(engine->get(), o);
  if (!one.ok()) return 1;
  const double tp = MedianSeconds(runs, [&] {
    if (!(*par)->Score(images->pixels.data(), n, 0, scores.data()).ok()) std::exit(1);
  });
  const double to = MedianSeconds(runs, [&] {
    if (!(*one)->Score(images->pixels.data(), n, 0, scores.data()).ok()) std::exit(1);
  });
  std::printf("%s %s, %zu images, %d threads, median of %d runs:\n", model->dtype(),
              ScoreMethodName(o).c_str(), n, threads, runs);
  std::printf("  engine per thread (ParallelScorer): %.0f images/s\n", n / tp);
  std::printf("  one engine, threaded GEMMs:         %.0f images/s\n", n / to);
  return 0;
}
