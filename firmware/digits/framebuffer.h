// Showing a grey image on a Linux framebuffer (/dev/fbN: the HDMI console, or a small SPI display
// driven by fbtft): the geometry and pixel format come from the FBIOGET_VSCREENINFO and
// FBIOGET_FSCREENINFO ioctls; 16, 24 and 32 bits per pixel are packed from the channel offsets
// and lengths the driver reports, and rows are addressed by its line length (which may exceed
// width x bytes per pixel).
#ifndef EDGEVAE_FIRMWARE_DIGITS_FRAMEBUFFER_H_
#define EDGEVAE_FIRMWARE_DIGITS_FRAMEBUFFER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "edgevae/image.h"
#include "edgevae/status.h"

namespace edgevae::digits {

struct FramebufferFormat {
  struct Channel {
    int offset = 0;  // bit offset of the channel's least significant bit in the pixel
    int length = 0;  // bits
  };
  int width = 0;  // visible pixels
  int height = 0;
  int x_offset = 0;  // the visible area's origin in the virtual screen
  int y_offset = 0;
  int bits_per_pixel = 0;  // 16, 24 or 32
  int line_length = 0;     // bytes from one row to the next
  Channel red, green, blue, transp;
};

// The usual formats with line_length = width x bytes per pixel: 16 = RGB565, 24 = BGR888 in
// memory (red at bit 16), 32 = XRGB8888 (alpha at bit 24, written opaque). Other bpp: an error.
StatusOr<FramebufferFormat> StandardFramebufferFormat(int width, int height, int bits_per_pixel);
// "640x480x16": StandardFramebufferFormat of those numbers.
StatusOr<FramebufferFormat> ParseFramebufferFormat(const std::string& text);

// Grey level v as one pixel of `format`, little-endian in its bytes_per_pixel bytes at `out`:
// each channel gets the top `length` bits of v, transparency (if any) all ones.
void PackGreyPixel(uint8_t v, const FramebufferFormat& format, uint8_t* out);

// Draws `image` in the middle of the framebuffer at `path`, scaled up by the largest integer
// factor (at most max_scale) that fits, writing only the rows and columns it covers. The format is
// read from the device with the ioctls unless `format` is given (a regular file standing in for
// a device in tests). Errors name the path: missing device, failed ioctl, an unsupported pixel
// format (with bpp and the channel layout), an image larger than the screen.
Status ShowOnFramebuffer(const std::string& path, const GreyImage& image,
                         const std::optional<FramebufferFormat>& format, int max_scale = 8);

// The format the device at `path` reports.
StatusOr<FramebufferFormat> QueryFramebuffer(const std::string& path);

}  // namespace edgevae::digits

#endif  // EDGEVAE_FIRMWARE_DIGITS_FRAMEBUFFER_H_
