#include "tools/backprop_plan.h"

#include <utility>

namespace edgevae {
namespace {

// The batch size the per-product choices are made for (the default minibatch). They only trade
// packing against streaming: any batch size gives the same loss and gradient with them.
constexpr size_t kPlanBatch = 128;

}  // namespace

std::vector<Unit> Plan(const ShapeInfo& s, const ParamLayout& layout) {
  std::vector<Unit> units;
  const int first_decoder = s.Find(LayerRole::kDecoder);
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerInfo& l = s.layers[i];
    if (l.role == LayerRole::kLogVar) continue;  // part of the heads' unit
    Unit u;
    u.kind = l.role == LayerRole::kMean     ? UnitKind::kHeads
             : l.role == LayerRole::kLogits ? UnitKind::kLogits
                                            : UnitKind::kHidden;
    u.in = l.in;
    u.out = l.out + (l.role == LayerRole::kMean ? s.layers[i + 1].out : 0);
    u.w = layout.layers[i].weight;
    u.b = layout.layers[i].bias;
    u.takes_pixels = i == 0;
    u.takes_z = static_cast<int>(i) == first_decoder;
    // Pack the smaller operand: the weight (out x in) against the batch's input (n x in) or its
    // output gradient (n x out); for the weight gradient, the input against the output gradient
    // plus the transpose of the result.
    const size_t n = kPlanBatch;
    u.fwd_on_weight = u.out < n;
    u.igrad_on_weight = u.in < n;
    u.wgrad_packs_dy = n * u.out + u.out * u.in < n * u.in;
    units.push_back(u);
  }
  return units;
}

Status PackConcurrently(const std::vector<PackJob>& jobs, pthreadpool_t pool,
                        const std::function<void()>& other) {
  std::vector<Status> status(jobs.size());
  const size_t tasks = jobs.size() + (other ? 1 : 0);
  auto work = [&](size_t i) {
    if (i == jobs.size()) {
      other();
      return;
    }
    const PackJob& j = jobs[i];
    auto r = gemm::PackedGemmBf16::Create(j.n, j.k, j.b, j.layout, j.k, j.n);
    if (r.ok()) {
      j.op->bf16 = std::move(r).value();
    } else {
      status[i] = r.status();
    }
  };
  const ForkJoinTask task(work);  // for ThreadSanitizer (kernels/parallel.h)
  if (pool == nullptr || tasks == 1) {
    for (size_t i = 0; i < tasks; ++i) task(i);
  } else {
    pthreadpool_parallelize_1d(pool, task, tasks, ParallelFlags());
  }
  task.Joined();
  for (const Status& st : status) EVAE_RETURN_IF_ERROR(st);
  return Status::Ok();
}

}  // namespace edgevae
