#include "score_inputs.h"

#include <algorithm>
#include <string>

#include "edgevae/idx.h"
#include "edgevae/image_read.h"

namespace edgevae::cli {
namespace {

bool HasExtension(const std::string& path, const char* ext) {
  const size_t n = std::char_traits<char>::length(ext);
  if (path.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(path[path.size() - n + i])) != ext[i]) {
      return false;
    }
  }
  return true;
}

void AddItem(const uint8_t* pixels, size_t n, int label, bool ood, const std::string& file,
             int index, Inputs* in) {
  in->pixels.insert(in->pixels.end(), pixels, pixels + n);
  in->labels.push_back(label);
  in->ood.push_back(ood ? 1 : 0);
  in->files.push_back(file);
  in->index.push_back(index);
}

}  // namespace

Status AppendInput(const std::string& path, const std::string& labels_path, bool ood, int rows,
                   int cols, Inputs* inputs, int* failed) {
  const size_t per = static_cast<size_t>(rows) * cols;
  const bool folder = IsDirectory(path);
  if (folder || HasExtension(path, ".png") || HasExtension(path, ".pgm")) {
    if (!labels_path.empty()) {
      return InvalidArgument("--labels goes with an IDX --input, not image files (" + path + ")");
    }
    std::vector<std::string> files = {path};
    if (folder) {
      EVAE_ASSIGN_OR_RETURN(files, ListImageFiles(path));
      if (files.empty()) return DataError(path + ": no .png or .pgm files in this folder");
    }
    for (size_t i = 0; i < files.size(); ++i) {
      StatusOr<GreyImage> image = ReadGreyImageSized(files[i], cols, rows);
      if (!image.ok()) {
        Fail(image.status());
        ++*failed;
        continue;
      }
      AddItem(image->pixels.data(), per, -1, ood, files[i], static_cast<int>(i), inputs);
    }
    return Status::Ok();
  }

  Status damage;
  int declared = 0;
  EVAE_ASSIGN_OR_RETURN(ImageSet set, LoadImagesSalvaging(path, &damage, &declared));
  if (set.rows != rows || set.cols != cols) {
    return DataError(path + ": images are " + std::to_string(set.rows) + "x" +
                     std::to_string(set.cols) + " pixels; the model takes " + std::to_string(rows) +
                     "x" + std::to_string(cols));
  }
  std::vector<int> labels(set.count, -1);
  if (!labels_path.empty()) {
    EVAE_ASSIGN_OR_RETURN(IdxArray l, ReadIdx(labels_path));
    if (l.dims.size() != 1 || l.dims[0] != static_cast<uint32_t>(declared)) {
      return DataError(labels_path + ": expected a 1-D IDX array of " + std::to_string(declared) +
                       " labels (one per image of " + path + ")");
    }
    // MNIST-style labels are digits; a larger value is a damaged or foreign file, and would
    // silently count as an anomaly (it is in no --normal-classes list).
    for (size_t i = 0; i < l.values.size(); ++i) {
      if (l.values[i] > 9) {
        return DataError(labels_path + ": label " + std::to_string(l.values[i]) + " at index " +
                         std::to_string(i) + " is not a digit 0-9");
      }
    }
    for (int i = 0; i < set.count; ++i) labels[i] = l.values[i];
  }
  if (!damage.ok()) {
    Fail(damage);
    *failed += std::max(declared - set.count, 1);
  }
  for (int i = 0; i < set.count; ++i) {
    AddItem(set.image(i), per, labels[i], ood, "", i, inputs);
  }
  return Status::Ok();
}

Status MakeScoreOptions(const ScoreMethodArgs& args, ScoreOptions* options) {
  EVAE_RETURN_IF_ERROR(ParseScoreMethod(args.method, options));
  options->samples = args.samples;
  options->iw_samples = args.iw;
  options->seed = args.seed;
  return Status::Ok();
}

}  // namespace edgevae::cli
