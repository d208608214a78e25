// What `edgevae score` and `edgevae calibrate` read: images from IDX files (gzip or not), PNG/PGM
// files or a folder of them, with per-item failures reported and counted instead of ending the
// run; and the scoring flags turned into ScoreOptions.
#ifndef EDGEVAE_TOOLS_CLI_SCORE_INPUTS_H_
#define EDGEVAE_TOOLS_CLI_SCORE_INPUTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "edgevae/score.h"
#include "edgevae/status.h"

namespace edgevae::cli {

// One entry per item in every vector.
struct Inputs {
  std::vector<uint8_t> pixels;     // items x rows x cols
  std::vector<int> labels;         // -1 when unknown
  std::vector<uint8_t> ood;        // 1 for items of an --ood input
  std::vector<std::string> files;  // the image file, or empty for an IDX item
  std::vector<int> index;          // the item's index within its input
};

// Appends the items of `path` (an IDX images file, a PNG/PGM file or a folder of them) to
// *inputs. A malformed item (a file that is not an image, has the wrong size, or the tail of a
// truncated IDX file) is reported on stderr as one line and counted in *failed. Returns an error
// only when nothing can be read (missing path, a bad IDX header, a labels file that does not
// match).
Status AppendInput(const std::string& path, const std::string& labels_path, bool ood, int rows,
                   int cols, Inputs* inputs, int* failed);

// --method, --samples, --iw, --seed -> ScoreOptions.
Status MakeScoreOptions(const ScoreMethodArgs& args, ScoreOptions* options);

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_SCORE_INPUTS_H_
