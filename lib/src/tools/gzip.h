// Inflating one gzip member (zlib) with limits set by what the data declares, so that a small
// compressed file cannot ask for gigabytes or minutes (a "bomb"). Used for gzip-compressed IDX
// files (Debian's dataset-fashion-mnist ships them so). Internal to the tools library.
#ifndef EDGEVAE_TOOLS_GZIP_H_
#define EDGEVAE_TOOLS_GZIP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgevae/status.h"

namespace edgevae {

bool IsGzip(const uint8_t* data, size_t size);

// How many bytes the inflated data says it has, from its first `n` bytes: 0 while they do not tell
// yet, SIZE_MAX for more than a size_t holds. `what` ("its IDX header") names it in messages.
struct DeclaredSize {
  std::function<size_t(const uint8_t* p, size_t n)> from_prefix;
  const char* what;
};

// What Gunzip makes of a gzip file: the bytes inflated, and (in salvage mode) why it stopped early.
struct Inflated {
  std::vector<uint8_t> bytes;
  Status damage;  // ok: the whole member was inflated
};

// Inflates the one gzip member of data[0, size), refusing ("too large") more output than
// `declared` says once it can tell and more than `max_bytes` in any case, and anything after the
// member (trailing bytes, a second member). With `salvage`, a cut-off or corrupt stream yields the
// bytes inflated before the damage and says so in `damage`; without, it is an error. Errors name
// `name` and the compressed offset.
StatusOr<Inflated> Gunzip(const uint8_t* data, size_t size, const std::string& name,
                          size_t max_bytes, const DeclaredSize& declared, bool salvage);

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_GZIP_H_
