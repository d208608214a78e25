// The public face of io::RemoveStaleTempFiles and io::CheckWritable (file_util.cc, beside the
// atomic write whose temp-file names and locks they depend on).
#include "edgevae/atomic_write.h"

#include "runtime/file_util.h"

namespace edgevae {

StatusOr<std::vector<std::string>> RemoveStaleTempFiles(const std::string& path) {
  std::vector<std::string> removed;
  EVAE_RETURN_IF_ERROR(io::RemoveStaleTempFiles(path, &removed));
  return removed;
}

Status CheckWritable(const std::string& path, uint64_t bytes) {
  return io::CheckWritable(path, bytes);
}

}  // namespace edgevae
