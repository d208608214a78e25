// Terminal output of grey images (the UI library shared by the CLI and the device programs): a
// preview in Unicode half blocks ("\u2580" with the upper pixel as foreground and the lower as
// background colour), in 24-bit or 256-colour greys, or in ASCII shades where colour is not
// available. RenderHalfBlocks is pure formatting (it returns a string); the queries below only read
// the environment and the terminal, so that the CLI and the device programs choose the same way.
#ifndef EDGEVAE_TOOLS_UI_TERM_H_
#define EDGEVAE_TOOLS_UI_TERM_H_

#include <cstdint>
#include <string>

namespace edgevae::ui {

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

}  // namespace edgevae::ui

#endif  // EDGEVAE_TOOLS_UI_TERM_H_
