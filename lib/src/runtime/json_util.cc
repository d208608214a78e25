#include "runtime/json_util.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace edgevae::io {
namespace {

using Json = nlohmann::json;

// Only used on the error path, to say where the text stops being JSON.
class ErrorSax final : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
    if (const size_t close = message.find("] ");
        !message.empty() && message[0] == '[' && close != std::string::npos) {
      message.erase(0, close + 2);
    }
    // The message quotes what was last read, which may be any bytes.
    for (char& c : message) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) c = '?';
    }
    return false;
  }
  std::string message;
};

}  // namespace

Status CheckJsonStructure(std::string_view text, const std::string& what, uint64_t base) {
  // One pass, outside strings only: a stack of open containers, and per open object its comma
  // count (keys = commas + 1). Escapes are skipped so that \" does not end a string.
  bool in_string = false;
  std::string open;  // '{' or '[' per level, innermost last
  std::vector<size_t> commas;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0') {
      return DataError(what + " is not JSON: NUL byte at file offset " + std::to_string(base + i) +
                       " (padding must be spaces)");
    }
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (open.size() == static_cast<size_t>(kMaxJsonDepth)) {
          return DataError(what + ": nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels at file offset " + std::to_string(base + i));
        }
        open.push_back(c);
        commas.push_back(0);
        break;
      case '}':
      case ']':
        if (!open.empty()) {
          open.pop_back();
          commas.pop_back();
        }
        break;
      case ',':
        if (!open.empty() && open.back() == '{' && ++commas.back() >= kMaxJsonObjectKeys) {
          return DataError(what + ": an object with more than " +
                           std::to_string(kMaxJsonObjectKeys) + " keys (at file offset " +
                           std::to_string(base + i) + ")");
        }
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

std::string JsonSyntaxError(const char* begin, const char* end) {
  ErrorSax sax;
  Json::sax_parse(begin, end, &sax);
  return sax.message;
}

}  // namespace edgevae::io
