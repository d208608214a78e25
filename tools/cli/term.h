// Terminal rendering for the CLI: a preview of grey images in Unicode half blocks and a training
// progress line. Pure formatting is separated from the terminal queries so that tests can call it
// with fixed inputs (tests/cli/cli_test.cc compiles term.cc directly, so it has no main() and
// depends on the standard library only).
#ifndef EDGEVAE_TOOLS_CLI_TERM_H_
#define EDGEVAE_TOOLS_CLI_TERM_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace edgevae::cli {

// How a preview is drawn.
enum class ColorMode {
  kTrueColor,  // "▀" with 24-bit fg (upper pixel) and bg (lower pixel) grey
  k256,        // "▀" with the 24 greys of the 256-colour palette (232..255)
  kAscii,      // one shade character (" .:-=+*#%@") per pair of pixels, no escapes
};

// The mode for these environment values (either may be null): ASCII when TERM is unset, empty or
// "dumb", or when NO_COLOR is set and non-empty (https://no-color.org); 24-bit when COLORTERM is
// "truecolor" or "24bit"; otherwise 256 colours.
ColorMode ColorModeFor(const char* term, const char* colorterm, const char* no_color);
// ColorModeFor() applied to this process's environment.
ColorMode ColorModeFromEnvironment();

// isatty(fd), false on error.
bool IsTerminal(int fd);
// The width of the terminal on fd in columns, else $COLUMNS if it is a positive number, else 0
// (unknown).
int TerminalColumns(int fd);

// Renders a width x height grey image (row-major, one byte per pixel). Each text line shows two
// pixel rows; an odd last row is paired with black in the colour modes and shown alone in ASCII
// mode. Colour modes end every line with a reset
// ("\x1b[0m") and a newline and emit an escape only where the colour changes. If max_columns > 0
// and the image is wider, it is shrunk by the smallest integer factor that fits, averaging
// factor x factor blocks (a partial block at the edge averages what it has) so that the aspect
// ratio is kept. Returns "" for an empty image.
std::string RenderHalfBlocks(const uint8_t* pixels, int width, int height, ColorMode mode,
                             int max_columns = 0);

// The 256-colour palette index (232..255) nearest to grey level v.
int Grey256Index(uint8_t v);

// "0:07", "12:34", "1:02:03"; "--:--" for a negative or non-finite number of seconds.
std::string FormatDuration(double seconds);

// What a progress line shows.
struct ProgressState {
  std::string phase = "train";  // "train" or "test"
  int epoch = 0;                // 1-based
  int epochs = 0;               // the epoch the run stops at; 0 if not applicable
  int64_t done = 0;             // units (batches or images) finished in this phase
  int64_t total = 0;
  double loss = 0;         // running loss, NaN to omit it
  double items_per_s = 0;  // images per second, 0 to omit it
  double seconds = 0;      // elapsed in this phase; the ETA is extrapolated from it
};

// One line without a newline or carriage return, e.g.
//   "epoch 3/10 [##########..........] 234/469  loss 112.41  10523 img/s  ETA 0:12"
// With columns > 0 the bar is sized so that the line fits (the bar is dropped when it cannot).
std::string FormatProgress(const ProgressState& state, int columns);

// Draws progress on a stream. Live mode (a terminal) redraws one line in place with "\r" and
// erase-to-end-of-line, at most once per `live_interval_s`; otherwise a plain line is written at
// most once per `plain_interval_s`. The last unit of a phase is always drawn in live mode.
// Times are passed in by the caller (seconds from any fixed origin) so that the throttle is
// testable.
class ProgressReporter {
 public:
  ProgressReporter(std::FILE* out, bool live, int columns = 0, double live_interval_s = 0.1,
                   double plain_interval_s = 10.0);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Draws `state` if the throttle allows; returns whether it drew.
  bool Update(const ProgressState& state, double now_s);
  // Erases a live line (so that the next output starts in column 0); a no-op otherwise.
  void Clear();

 private:
  std::FILE* out_;
  bool live_;
  int columns_;
  double live_interval_s_;
  double plain_interval_s_;
  double last_draw_s_ = -1e300;
  bool line_shown_ = false;
};

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_TERM_H_
