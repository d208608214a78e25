// edgevae convert: between PyTorch's state_dict (safetensors) and .evae files, and from a training
// checkpoint to the deployable model (the weights without the Adam state).
#include <cstdio>
#include <string>

#include "commands.h"
#include "edgevae/file.h"
#include "edgevae/model.h"
#include "edgevae/safetensors.h"
#include "edgevae/shape.h"

namespace edgevae::cli {
namespace {

std::string ShapeText(const ShapeInfo& s) {
  return std::string(s.name) + " " + std::to_string(s.input) + "-" + std::to_string(s.hidden) +
         "-" + std::to_string(s.latent);
}

}  // namespace

int RunConvert(const ConvertArgs& args) {
  const bool from_safetensors = !args.from_safetensors.empty();
  const bool from_evae = !args.in.empty();
  // The parser already refuses both inputs, and --to-safetensors with --from-safetensors.
  if (from_safetensors == from_evae) {
    return Fail(kExitUsage,
                "convert needs exactly one input: --from-safetensors FILE or --in FILE (see "
                "'edgevae convert --help')");
  }
  const bool to_evae = !args.out.empty();
  const bool to_safetensors = !args.to_safetensors.empty();
  if (to_evae == to_safetensors) {
    return Fail(kExitUsage,
                std::string(from_safetensors ? "--from-safetensors needs --out FILE"
                                             : "--in needs exactly one output: --out FILE or "
                                               "--to-safetensors FILE") +
                    " (see 'edgevae convert --help')");
  }

  if (from_safetensors) {
    StatusOr<Model> model = ImportSafetensors(args.from_safetensors);
    if (!model.ok()) return Fail(model.status());
    if (Status s = SaveModel(args.out, *model); !s.ok()) return Fail(s);
    std::printf("wrote %s (%s, %s, from %s)\n", args.out.c_str(), ShapeText(model->shape()).c_str(),
                args.dtype.c_str(), args.from_safetensors.c_str());
    return kExitOk;
  }

  StatusOr<Model> model = LoadModel(args.in);
  if (!model.ok()) return Fail(model.status());
  if (to_safetensors) {
    if (Status s = ExportSafetensors(args.to_safetensors, *model); !s.ok()) return Fail(s);
    std::printf("wrote %s (safetensors, %s, F32)\n", args.to_safetensors.c_str(),
                ShapeText(model->shape()).c_str());
    return kExitOk;
  }
  // The deployable model: the weights and metadata, without a checkpoint's Adam moments.
  const bool had_optimizer = model->has_optimizer();
  model->DropOptimizer();
  if (Status s = SaveModel(args.out, *model); !s.ok()) return Fail(s);
  std::printf("wrote %s (%s, %s, %d epochs%s)\n", args.out.c_str(),
              ShapeText(model->shape()).c_str(), args.dtype.c_str(), model->metadata().epochs,
              had_optimizer ? ", optimizer state dropped" : "");
  return kExitOk;
}

}  // namespace edgevae::cli
