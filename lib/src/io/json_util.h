// JSON helpers shared by the file readers.
#ifndef EDGEVAE_IO_JSON_UTIL_H_
#define EDGEVAE_IO_JSON_UTIL_H_

#include <string>

namespace edgevae::io {

// Why [begin, end) is not JSON, for a one-line message: nlohmann's parse error ("parse error at
// line 1, column 7: ...") without its exception prefix, with non-printable bytes as '?'.
std::string JsonSyntaxError(const char* begin, const char* end);

}  // namespace edgevae::io

#endif  // EDGEVAE_IO_JSON_UTIL_H_
