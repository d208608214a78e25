#include "ui/term.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace edgevae::ui {
namespace {

constexpr char kUpperHalfBlock[] = "\xE2\x96\x80";  // U+2580 "▀"
constexpr char kAsciiRamp[] = " .:-=+*#%@";         // dark to light, 10 levels
constexpr char kReset[] = "\x1b[0m";

// Shrinks by `factor` in both directions, averaging each factor x factor block (rounded to
// nearest); blocks cut by the right or bottom edge average the pixels they have.
std::vector<uint8_t> Shrink(const uint8_t* pixels, int width, int height, int factor, int* out_w,
                            int* out_h) {
  const int w = (width + factor - 1) / factor;
  const int h = (height + factor - 1) / factor;
  std::vector<uint8_t> out(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      int sum = 0, n = 0;
      for (int yy = y * factor; yy < std::min(height, (y + 1) * factor); ++yy) {
        for (int xx = x * factor; xx < std::min(width, (x + 1) * factor); ++xx) {
          sum += pixels[static_cast<size_t>(yy) * width + xx];
          ++n;
        }
      }
      out[static_cast<size_t>(y) * w + x] = static_cast<uint8_t>((sum + n / 2) / n);
    }
  }
  *out_w = w;
  *out_h = h;
  return out;
}

void AppendColor(std::string* out, bool foreground, uint8_t v, ColorMode mode) {
  const char* layer = foreground ? "38" : "48";
  if (mode == ColorMode::kTrueColor) {
    const std::string c = std::to_string(v);
    *out += "\x1b[" + std::string(layer) + ";2;" + c + ";" + c + ";" + c + "m";
  } else {
    *out += "\x1b[" + std::string(layer) + ";5;" + std::to_string(Grey256Index(v)) + "m";
  }
}

bool Equals(const char* s, const char* value) { return s != nullptr && std::strcmp(s, value) == 0; }

}  // namespace

ColorMode ColorModeFor(const char* term, const char* colorterm, const char* no_color) {
  if (term == nullptr || *term == '\0' || Equals(term, "dumb")) return ColorMode::kAscii;
  if (no_color != nullptr && *no_color != '\0') return ColorMode::kAscii;
  if (Equals(colorterm, "truecolor") || Equals(colorterm, "24bit")) return ColorMode::kTrueColor;
  return ColorMode::k256;
}

ColorMode ColorModeFromEnvironment() {
  return ColorModeFor(std::getenv("TERM"), std::getenv("COLORTERM"), std::getenv("NO_COLOR"));
}

bool IsTerminal(int fd) { return ::isatty(fd) == 1; }

int TerminalColumns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* env = std::getenv("COLUMNS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v < 100000) return static_cast<int>(v);
  }
  return 0;
}

int Grey256Index(uint8_t v) {
  // Palette entry 232 + i is grey 8 + 10 i (xterm's 256-colour table).
  const int i = (static_cast<int>(v) - 8 + 5) / 10;
  return 232 + std::clamp(i, 0, 23);
}

std::string RenderHalfBlocks(const uint8_t* pixels, int width, int height, ColorMode mode,
                             int max_columns) {
  if (pixels == nullptr || width <= 0 || height <= 0) return "";
  std::vector<uint8_t> shrunk;
  if (max_columns > 0 && width > max_columns) {
    const int factor = (width + max_columns - 1) / max_columns;
    shrunk = Shrink(pixels, width, height, factor, &width, &height);
    pixels = shrunk.data();
  }
  std::string out;
  for (int y = 0; y < height; y += 2) {
    const uint8_t* upper = pixels + static_cast<size_t>(y) * width;
    const uint8_t* lower = y + 1 < height ? upper + width : nullptr;
    if (mode == ColorMode::kAscii) {
      for (int x = 0; x < width; ++x) {
        const int a = upper[x], b = lower != nullptr ? lower[x] : upper[x];
        out += kAsciiRamp[(a + b) * 10 / 512];
      }
      out += '\n';
      continue;
    }
    int fg = -1, bg = -1;  // the colours in effect; -1 = terminal default
    for (int x = 0; x < width; ++x) {
      const uint8_t top = upper[x], bottom = lower != nullptr ? lower[x] : 0;
      // Compare what the terminal will show, so that 256-colour mode skips equal palette entries.
      const int top_key = mode == ColorMode::k256 ? Grey256Index(top) : top;
      const int bottom_key = mode == ColorMode::k256 ? Grey256Index(bottom) : bottom;
      if (top_key != fg) {
        AppendColor(&out, true, top, mode);
        fg = top_key;
      }
      if (bottom_key != bg) {
        AppendColor(&out, false, bottom, mode);
        bg = bottom_key;
      }
      out += kUpperHalfBlock;
    }
    out += kReset;
    out += '\n';
  }
  return out;
}

}  // namespace edgevae::ui
