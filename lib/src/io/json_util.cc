#include "io/json_util.h"

#include <nlohmann/json.hpp>

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

std::string JsonSyntaxError(const char* begin, const char* end) {
  ErrorSax sax;
  Json::sax_parse(begin, end, &sax);
  return sax.message;
}

}  // namespace edgevae::io
