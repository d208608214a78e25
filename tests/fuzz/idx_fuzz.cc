// Fuzz harness: IDX files, plain and gzip-compressed, through every reader: ParseIdx on the bytes,
// ReadIdx on the same bytes as a file (a memfd: a regular file, so its header-first path with
// lseek) and as a pipe (read to the end first), LoadImagesSalvaging (`edgevae score --input`,
// `calibrate`), which keeps the complete images of a damaged file, and LoadImageSet with the
// file as images and as labels (`--labels`, `edgevae-digits perturb --image`). The input is the
// file itself.
//
// The readers must agree: ParseIdx and ReadIdx accept the same files with the same contents; a
// 3-D file they accept is salvaged whole and undamaged; what salvage keeps is complete images,
// no more than the header declares; LoadImageSet takes exactly the 3-D arrays as images and the
// 1-D arrays of labels 0..9 as labels.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/status.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgevae;
  StatusOr<IdxArray> parsed = ParseIdx(data, size, "fuzz.idx");
  if (parsed.ok()) {
    size_t count = 1;
    for (const uint32_t d : parsed->dims) count *= d;
    FUZZ_CHECK(!parsed->dims.empty() && parsed->dims.size() <= 4, "%zu dims",
               parsed->dims.size());
    FUZZ_CHECK(parsed->values.size() == count, "%zu values for %zu elements",
               parsed->values.size(), count);
  }

  const fuzz::MemFile mem(data, size);
  StatusOr<IdxArray> read = ReadIdx(mem.path());
  FUZZ_CHECK(read.ok() == parsed.ok(), "ReadIdx %d, ParseIdx %d: %s", read.ok(), parsed.ok(),
             (read.ok() ? parsed.status() : read.status()).message().c_str());
  if (read.ok()) {
    FUZZ_CHECK(read->dims == parsed->dims && read->values == parsed->values,
               "ReadIdx and ParseIdx read different arrays");
  }

  Status damage;
  int declared = -1;
  StatusOr<ImageSet> salvaged = LoadImagesSalvaging(mem.path(), &damage, &declared);
  if (salvaged.ok()) {
    const ImageSet& s = *salvaged;
    FUZZ_CHECK(s.count >= 0 && s.rows > 0 && s.cols > 0, "count %d, %dx%d", s.count, s.rows,
               s.cols);
    FUZZ_CHECK(s.pixels.size() == static_cast<size_t>(s.count) * s.rows * s.cols,
               "%zu pixels for %d images of %dx%d", s.pixels.size(), s.count, s.rows, s.cols);
    FUZZ_CHECK(s.count <= declared, "kept %d images of %d declared", s.count, declared);
    FUZZ_CHECK(s.labels.empty(), "labels from an images file");
    if (damage.ok()) FUZZ_CHECK(s.count == declared, "undamaged, but %d of %d", s.count, declared);
  }
  if (parsed.ok() && parsed->dims.size() == 3 && parsed->dims[0] <= INT_MAX &&
      uint64_t{parsed->dims[1]} * parsed->dims[2] <= INT_MAX) {
    FUZZ_CHECK(salvaged.ok() && damage.ok(), "ParseIdx reads it, salvage says '%s' / '%s'",
               salvaged.status().message().c_str(), damage.message().c_str());
    FUZZ_CHECK(salvaged->pixels == parsed->values && static_cast<uint32_t>(declared) ==
                                                         parsed->dims[0],
               "salvage and ParseIdx read different images");
  }

  // LoadImageSet: the images alone, and a labels file beside images made to match its count.
  const bool images_ok = parsed.ok() && parsed->dims.size() == 3 && parsed->dims[0] <= INT_MAX &&
                         uint64_t{parsed->dims[1]} * parsed->dims[2] <= INT_MAX;
  StatusOr<ImageSet> set = LoadImageSet(mem.path(), "");
  FUZZ_CHECK(set.ok() == images_ok, "LoadImageSet %d: %s", set.ok(),
             set.status().message().c_str());
  if (set.ok()) FUZZ_CHECK(set->pixels == parsed->values, "LoadImageSet read other images");
  // As labels beside images of dims[0] images (one more for inputs of odd length, so that a
  // count mismatch is tried too): accepted only for a 1-D array of labels 0..9 of that count.
  if (parsed.ok() && parsed->dims[0] <= 65536) {
    const uint32_t n = parsed->dims[0] + static_cast<uint32_t>(size % 2);
    std::vector<uint8_t> images = {0, 0, 8, 3, static_cast<uint8_t>(n >> 24),
                                   static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                                   static_cast<uint8_t>(n), 0, 0, 0, 1, 0, 0, 0, 1};
    images.resize(images.size() + n, 0);
    const fuzz::MemFile images_file(images.data(), images.size());
    StatusOr<ImageSet> labelled = LoadImageSet(images_file.path(), mem.path());
    bool labels_ok = parsed->dims.size() == 1 && parsed->dims[0] == n;
    for (const uint8_t l : parsed->values) labels_ok &= l <= 9;
    FUZZ_CHECK(labelled.ok() == labels_ok, "labels %d: %s", labelled.ok(),
               labelled.status().message().c_str());
    if (labelled.ok()) FUZZ_CHECK(labelled->labels == parsed->values, "other labels");
  }

  // ReadIdx on a stream (a pipe: read to its end, then parsed), when the input fits the pipe.
  if (size <= 65536) {
    int fds[2];
    FUZZ_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", std::strerror(errno));
    size_t done = 0;
    while (done < size) {
      const ssize_t w = ::write(fds[1], data + done, size - done);
      FUZZ_CHECK(w > 0, "write to pipe: %s", std::strerror(errno));
      done += static_cast<size_t>(w);
    }
    ::close(fds[1]);
    StatusOr<IdxArray> streamed = ReadIdx("/proc/self/fd/" + std::to_string(fds[0]));
    ::close(fds[0]);
    FUZZ_CHECK(streamed.ok() == parsed.ok(), "ReadIdx on a pipe %d, ParseIdx %d: %s",
               streamed.ok(), parsed.ok(),
               (streamed.ok() ? parsed.status() : streamed.status()).message().c_str());
    if (streamed.ok()) {
      FUZZ_CHECK(streamed->dims == parsed->dims && streamed->values == parsed->values,
                 "ReadIdx on a pipe and ParseIdx read different arrays");
    }
  }
  return 0;
}
