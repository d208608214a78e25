// Fuzz harness: the option values that the library and the board programs parse themselves
// rather than through CLI11: the score method name (`edgevae score/calibrate --method`,
// `edgevae-anomalyd --method`: ParseScoreMethod) and the framebuffer geometry
// (`edgevae-digits --fb-format WxHxBPP`: ParseFramebufferFormat).
//
// Input: byte 0 picks the parser (even: method, odd: framebuffer), the rest is the text. What a
// parser accepts must be canonical: the method's name is the text itself, and a framebuffer
// format is in range and, when the text was plain decimal numbers, is exactly those numbers (a
// number beyond int must not wrap around into a valid one).
#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/score.h"
#include "edgevae/status.h"
#include "framebuffer.h"
#include "fuzz_util.h"

namespace {

// The numbers of "W x H x B" written plainly (decimal digits, no sign, no leading zero), or none.
std::vector<std::string> PlainFields(const std::string& text) {
  std::vector<std::string> fields(1);
  for (const char c : text) {
    if (c == 'x') {
      fields.emplace_back();
    } else if (c >= '0' && c <= '9' && !(fields.back().empty() && c == '0')) {
      fields.back() += c;
    } else {
      return {};
    }
  }
  for (const std::string& f : fields) {
    if (f.empty()) return {};
  }
  return fields.size() == 3 ? fields : std::vector<std::string>{};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgevae;
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    ScoreOptions options;
    const Status s = ParseScoreMethod(text, &options);
    if (s.ok()) {
      FUZZ_CHECK(ScoreMethodName(options) == text, "'%s' parsed as '%s'", text.c_str(),
                 ScoreMethodName(options).c_str());
      FUZZ_CHECK(ScoreSamples(options) >= 0, "negative samples");
    } else {
      FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, "code %d for a bad method",
                 static_cast<int>(s.code()));
    }
    return 0;
  }
  StatusOr<digits::FramebufferFormat> f = digits::ParseFramebufferFormat(text);
  const std::vector<std::string> plain = PlainFields(text);
  if (!plain.empty()) {
    // A plain text with a number beyond the limits must not be read as another number.
    const bool in_range = plain[0].size() <= 5 && plain[1].size() <= 5 && plain[2].size() <= 2;
    FUZZ_CHECK(in_range || !f.ok(), "'%s' accepted as %dx%dx%d", text.c_str(),
               f.ok() ? f->width : 0, f.ok() ? f->height : 0, f.ok() ? f->bits_per_pixel : 0);
  }
  if (!f.ok()) return 0;
  FUZZ_CHECK(f->width >= 1 && f->width <= 16384 && f->height >= 1 && f->height <= 16384,
             "'%s': %dx%d", text.c_str(), f->width, f->height);
  FUZZ_CHECK(f->bits_per_pixel == 16 || f->bits_per_pixel == 24 || f->bits_per_pixel == 32,
             "'%s': %d bpp", text.c_str(), f->bits_per_pixel);
  FUZZ_CHECK(f->line_length == f->width * (f->bits_per_pixel / 8), "'%s': line length %d",
             text.c_str(), f->line_length);
  const std::string canonical = std::to_string(f->width) + "x" + std::to_string(f->height) + "x" +
                                std::to_string(f->bits_per_pixel);
  StatusOr<digits::FramebufferFormat> again = digits::ParseFramebufferFormat(canonical);
  FUZZ_CHECK(again.ok() && again->width == f->width && again->height == f->height &&
                 again->bits_per_pixel == f->bits_per_pixel,
             "'%s' does not parse back", canonical.c_str());
  FUZZ_CHECK(plain.empty() || canonical == text, "'%s' read as %s", text.c_str(),
             canonical.c_str());
  return 0;
}
