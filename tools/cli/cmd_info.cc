// edgevae info: what a model file holds (read without trusting it), whether it loads, and what
// this machine's CPU and SIMD dispatch are.
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "options.h"
#include "ui/error_line.h"

namespace edgevae::cli {

struct InfoArgs {
  std::string model;
  bool json = false;
};

namespace {

// The compiled shape the header names, if its sizes are the header's.
StatusOr<ShapeInfo> CompiledShapeOf(const ModelFileInfo& info) {
  StatusOr<ShapeInfo> shape = FindShape(info.shape_name);
  if (shape.ok() && (shape->input != info.input || shape->hidden != info.hidden ||
                     shape->latent != info.latent)) {
    return Unsupported("sizes differ");
  }
  return shape;
}

// The family of the compiled shape the header names, or null when no compiled shape matches.
Json FamilyOf(const ModelFileInfo& info) {
  const StatusOr<ShapeInfo> shape = CompiledShapeOf(info);
  if (!shape.ok()) return nullptr;
  return FamilyName(shape->family);
}

// DTypeName() of a type read from an untrusted file, which may be one this build does not know.
std::string DTypeText(DType dtype) {
  const char* name = DTypeName(dtype);
  if (name != nullptr && *name != '\0') return name;
  return "unknown(" + std::to_string(static_cast<uint32_t>(dtype)) + ")";
}

std::string SimdText() {
  const char* name = SimdTargetName();
  return name != nullptr ? name : "unknown";
}

std::string DimsText(const std::vector<uint32_t>& dims) {
  std::string out;
  for (uint32_t d : dims) {
    if (!out.empty()) out += " x ";
    out += std::to_string(d);
  }
  return out.empty() ? "scalar" : out;
}

// An integer field of a class_latents entry as the file has it: a number of any size (1e300 must
// not be converted to int, which is undefined) shown as text, or "?" if absent or not a number.
std::string IntegerText(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return "?";
  if (it->is_number_integer()) return it->dump();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", it->get<double>());
  return buf;
}

// A JSON value as one printable line of at most ~80 characters.
std::string Excerpt(const Json& v) {
  std::string text = v.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

// One line per class instead of 420 numbers: the count, the norm of the mean and the root mean
// variance (sqrt(trace(cov) / latent)) of the encodings.
void PrintClassLatents(const Json& classes) {
  std::printf("  %-16s %zu classes (mean and covariance of mu per label)\n", "class_latents",
              classes.size());
  for (const Json& c : classes) {
    if (!c.is_object() || !c.contains("mean") || !c.contains("cov") || !c["mean"].is_array() ||
        !c["cov"].is_array()) {
      std::printf("    (malformed) %s\n", Excerpt(c).c_str());
      continue;
    }
    const Json& mean = c["mean"];
    const Json& cov = c["cov"];
    const size_t d = mean.size();
    double norm = 0, trace = 0;
    for (const Json& v : mean) norm += v.is_number() ? v.get<double>() * v.get<double>() : 0;
    for (size_t i = 0; i < d && i * d + i < cov.size(); ++i) {
      if (cov[i * d + i].is_number()) trace += cov[i * d + i].get<double>();
    }
    std::printf("    label %-3s %6s images  |mean| %.3f  rms sd %.3f\n",
                IntegerText(c, "label").c_str(), IntegerText(c, "count").c_str(), std::sqrt(norm),
                d > 0 ? std::sqrt(trace / static_cast<double>(d)) : 0.0);
  }
}

void PrintHuman(const std::string& path, const ModelFileInfo& info, const Json& metadata,
                const Status& load, const CpuReport& cpu) {
  std::printf("file        %s (%" PRIu64 " bytes, format version %u)\n",
              ui::Printable(path).c_str(), info.file_bytes, info.version);
  if (info.checksum_ok) {
    std::printf("checksum    ok (xxh64 %016" PRIx64 ")\n", info.computed_checksum);
  } else {
    std::printf("checksum    MISMATCH (stored %016" PRIx64 ", computed %016" PRIx64 ")\n",
                info.stored_checksum, info.computed_checksum);
  }
  std::printf("loads       %s\n", load.ok() ? "yes" : "no (see the error below)");
  // The compiled shape of these sizes tells the rest of the network (its parameter count).
  const StatusOr<ShapeInfo> shape = CompiledShapeOf(info);
  const std::string sizes =
      shape.ok()
          ? shape->SizesText() + "), " + std::to_string(shape->ParamCount()) + " parameters"
          : std::to_string(info.input) + "-" + std::to_string(info.hidden) + "-" +
                std::to_string(info.latent) + ", not compiled in)";
  std::printf("shape       %s (%s\n", ui::Printable(info.shape_name).c_str(), sizes.c_str());
  if (shape.ok()) {
    std::printf("family      %s\n", FamilyName(shape->family));
  }
  std::printf("tensors     %zu\n", info.tensors.size());
  for (const ModelFileInfo::Tensor& t : info.tensors) {
    std::printf("  %-12s %-4s %-12s at %" PRIu64 ", %" PRIu64 " bytes\n",
                ui::Printable(t.name).c_str(), DTypeText(t.dtype).c_str(), DimsText(t.dims).c_str(),
                t.offset, t.bytes);
  }
  if (metadata.is_object()) {
    std::printf("metadata\n");
    for (const auto& [key, value] : metadata.items()) {
      if (key == "class_latents" && value.is_array()) {
        PrintClassLatents(value);
        continue;
      }
      std::string text;
      if (value.is_string()) {
        text = ui::Printable(value.get<std::string>());
      } else if (value.is_number_float()) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.6g", value.get<double>());
        text = buf;
      } else {
        text = value.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
      }
      std::printf("  %-16s %s\n", ui::Printable(key).c_str(), text.c_str());
    }
  } else if (!info.metadata_problem.empty()) {
    std::printf("metadata    (not read: %s)\n", ui::Printable(info.metadata_problem).c_str());
  } else {
    std::printf("metadata    (not a JSON object) %s\n",
                ui::Printable(info.metadata_json.substr(0, 200)).c_str());
  }
  if (cpu.detected) {
    std::printf("cpu         %s (%d logical cores)\n", cpu.name.c_str(), cpu.logical_cores);
    std::printf("features    %s\n", cpu.features.c_str());
  } else {
    std::printf("cpu         not detected (cpuinfo failed to initialise); %d logical cores\n",
                cpu.logical_cores);
  }
  std::printf("simd        %s\n", SimdText().c_str());
  std::printf("training    %s\n", Bf16TrainingAvailable()
                                      ? "fp32, or bf16 with --precision bf16 (AVX512_BF16)"
                                      : "fp32 (no AVX512_BF16 here for --precision bf16)");
}

}  // namespace

int RunInfo(const InfoArgs& args) {
  StatusOr<ModelFileInfo> info = InspectModelFile(args.model);
  if (!info.ok()) return Fail(info.status());
  // Loading validates what inspection only reports (checksum, shapes, finite weights); its error,
  // if any, is printed after the report so that the checksum status is still shown.
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  const Status load = model.ok() ? Status::Ok() : model.status();
  const char* dtype = model.ok() ? model->dtype() : "unknown";
  // How an int8 file stores its weights (edgevae convert --layout); null for other dtypes.
  const Json layout = model.ok() && model->int8 ? Json(WeightLayoutName(model->int8->layout))
                                                : Json(nullptr);
  const CpuReport cpu = DetectCpu();
  // Parsed only within the readers' limits (size, depth, keys per object): beyond them nlohmann's
  // printing overflows the stack and ordered_json's lookups turn quadratic.
  const Json metadata = info->metadata_problem.empty()
                            ? Json::parse(info->metadata_json, nullptr, false)
                            : Json(nullptr);

  if (args.json) {
    Json tensors = Json::array();
    for (const ModelFileInfo::Tensor& t : info->tensors) {
      tensors.push_back({{"name", t.name}, {"dtype", DTypeText(t.dtype)}, {"dims", t.dims}});
    }
    PrintJson({
        {"version", info->version},
        {"shape", info->shape_name},
        {"family", FamilyOf(*info)},
        {"input", info->input},
        {"hidden", info->hidden},
        {"latent", info->latent},
        {"tensors", tensors},
        {"metadata", metadata.is_object() ? metadata : Json(nullptr)},
        {"checksum_ok", info->checksum_ok},
        {"dtype", dtype},
        {"weight_layout", layout},
        {"cpu",
         {{"name", cpu.name},
          {"features", cpu.features},
          {"logical_cores", cpu.logical_cores},
          {"detected", cpu.detected}}},
        {"simd_target", SimdText()},
        {"training_precisions", Bf16TrainingAvailable() ? Json::array({"fp32", "bf16"})
                                                        : Json::array({"fp32"})},
    });
  } else {
    PrintHuman(args.model, *info, metadata, load, cpu);
    if (load.ok()) {
      std::printf("dtype       %s%s\n", dtype,
                  layout.is_string() && layout != "rows"
                      ? (", weights in the " + layout.get<std::string>() + " layout").c_str()
                      : "");
    }
  }
  if (!load.ok()) return Fail(load);
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kInfoCommand(
    {"info", "What a model file holds, whether it loads, and this machine's CPU and SIMD target",
     50, [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<InfoArgs>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] { return RunInfo(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
