#include "term.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace edgevae::cli {
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

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "--:--";
  const long long s = std::llround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

std::string FormatProgress(const ProgressState& state, int columns) {
  std::string head;
  if (state.epoch > 0) {
    head = "epoch " + std::to_string(state.epoch);
    if (state.epochs > 0) head += "/" + std::to_string(state.epochs);
    if (state.phase != "train") head += " " + state.phase;
  } else {
    head = state.phase;
  }
  std::string tail = " " + std::to_string(state.done) + "/" + std::to_string(state.total);
  char buf[64];
  if (std::isfinite(state.loss)) {
    std::snprintf(buf, sizeof(buf), "  loss %.2f", state.loss);
    tail += buf;
  }
  if (state.items_per_s > 0 && std::isfinite(state.items_per_s)) {
    std::snprintf(buf, sizeof(buf), "  %.0f img/s", state.items_per_s);
    tail += buf;
  }
  if (state.done > 0 && state.done < state.total && state.seconds > 0) {
    const double eta = state.seconds / static_cast<double>(state.done) *
                       static_cast<double>(state.total - state.done);
    tail += "  ETA " + FormatDuration(eta);
  }

  // The bar: 20 cells when the width is unknown, else what is left, between 10 and 30 cells.
  int cells = 20;
  if (columns > 0) {
    const int room = columns - 1 - static_cast<int>(head.size() + tail.size()) - 3;
    cells = room >= 10 ? std::min(room, 30) : 0;
  }
  std::string line = head;
  if (cells > 0) {
    const double fraction =
        state.total > 0 ? std::clamp(static_cast<double>(state.done) / state.total, 0.0, 1.0) : 0.0;
    const int filled = static_cast<int>(fraction * cells);
    line += " [" + std::string(filled, '#') + std::string(cells - filled, '.') + "]";
  }
  line += tail;
  // A line that wraps cannot be redrawn with "\r": cut it (it is ASCII, so bytes are columns).
  if (columns > 1 && static_cast<int>(line.size()) > columns - 1) line.resize(columns - 1);
  return line;
}

ProgressReporter::ProgressReporter(std::FILE* out, bool live, int columns, double live_interval_s,
                                   double plain_interval_s)
    : out_(out),
      live_(live),
      columns_(columns),
      live_interval_s_(live_interval_s),
      plain_interval_s_(plain_interval_s) {}

ProgressReporter::~ProgressReporter() { Clear(); }

bool ProgressReporter::Update(const ProgressState& state, double now_s) {
  if (out_ == nullptr) return false;
  if (live_) {
    const bool last = state.total > 0 && state.done >= state.total;
    if (!last && now_s - last_draw_s_ < live_interval_s_) return false;
    std::fprintf(out_, "\r%s\x1b[K", FormatProgress(state, columns_).c_str());
    line_shown_ = true;
  } else {
    // The clock starts with the first phase, so that short runs print no progress lines at all.
    if (last_draw_s_ < -1e299) last_draw_s_ = now_s - state.seconds;
    if (now_s - last_draw_s_ < plain_interval_s_) return false;
    std::fprintf(out_, "%s\n", FormatProgress(state, 0).c_str());
  }
  std::fflush(out_);
  last_draw_s_ = now_s;
  return true;
}

void ProgressReporter::Clear() {
  if (!live_ || !line_shown_ || out_ == nullptr) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  line_shown_ = false;
}

}  // namespace edgevae::cli
