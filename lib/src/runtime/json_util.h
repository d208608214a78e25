// JSON helpers shared by the file readers. Every JSON text from a file (a model's metadata, a
// safetensors header) passes CheckJsonStructure before nlohmann parses it.
#ifndef EDGEVAE_RUNTIME_JSON_UTIL_H_
#define EDGEVAE_RUNTIME_JSON_UTIL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "edgevae/status.h"

namespace edgevae::io {

// nlohmann parses iteratively but serialises (dump) and compares recursively: a file nested
// 100,000 levels deep overflows the stack of whoever prints it. Nothing edgevae writes is nested
// deeper than 4 levels.
inline constexpr int kMaxJsonDepth = 32;
// nlohmann::ordered_json looks keys up linearly, so an object of n keys costs n^2 to build: 300,000
// keys took `edgevae info` over a minute. edgevae writes at most 20 keys per object, and a
// safetensors header has one per tensor.
inline constexpr size_t kMaxJsonObjectKeys = 256;

// Whether `text` may be handed to nlohmann: no NUL byte (nlohmann stops at one as if the text ended
// there, so "{...}\0<anything>" would parse), nesting at most kMaxJsonDepth, objects of at most
// kMaxJsonObjectKeys keys. Does not check the syntax (the parser does). `what` starts the message
// and names the text ("model.evae: metadata (812 bytes at offset 848)"); `base` is the text's
// offset in its file, so that the message names a file offset.
Status CheckJsonStructure(std::string_view text, const std::string& what, uint64_t base);

// Why [begin, end) is not JSON, for a one-line message: nlohmann's parse error ("parse error at
// line 1, column 7: ...") without its exception prefix, with non-printable bytes as '?'.
std::string JsonSyntaxError(const char* begin, const char* end);

// A JSON value from a file, compact, ASCII only (control characters escaped) and at most ~80
// characters, for "found ..." in a message. Only for values that passed CheckJsonStructure.
template <typename J>
std::string JsonExcerpt(const J& v) {
  std::string text = v.dump(-1, ' ', /*ensure_ascii=*/true, J::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

}  // namespace edgevae::io

#endif  // EDGEVAE_RUNTIME_JSON_UTIL_H_
