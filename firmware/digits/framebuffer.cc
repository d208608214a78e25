#include "framebuffer.h"

#include <fcntl.h>
#include <linux/fb.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

namespace edgevae::digits {
namespace {

std::string Errno() { return std::strerror(errno); }

// Closes a file descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status CheckFormat(const std::string& path, const FramebufferFormat& f) {
  const bool bpp_ok = f.bits_per_pixel == 16 || f.bits_per_pixel == 24 || f.bits_per_pixel == 32;
  auto channel_ok = [&](const FramebufferFormat::Channel& c) {
    return c.length >= 1 && c.length <= 8 && c.offset >= 0 &&
           c.offset + c.length <= f.bits_per_pixel;
  };
  if (!bpp_ok || !channel_ok(f.red) || !channel_ok(f.green) || !channel_ok(f.blue) ||
      f.transp.length < 0 || f.transp.offset + f.transp.length > f.bits_per_pixel) {
    char buf[192];
    std::snprintf(buf, sizeof(buf),
                  "%d bpp, red %d@%d, green %d@%d, blue %d@%d, transp %d@%d (supported: 16, 24 "
                  "or 32 bpp true colour with channels of 1-8 bits)",
                  f.bits_per_pixel, f.red.length, f.red.offset, f.green.length, f.green.offset,
                  f.blue.length, f.blue.offset, f.transp.length, f.transp.offset);
    return Unsupported(path + ": unsupported pixel format " + buf);
  }
  if (f.width <= 0 || f.height <= 0 || f.x_offset < 0 || f.y_offset < 0 ||
      f.line_length < (f.x_offset + f.width) * (f.bits_per_pixel / 8)) {
    return Unsupported(path + ": bad geometry " + std::to_string(f.width) + "x" +
                       std::to_string(f.height) + " with line length " +
                       std::to_string(f.line_length));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<FramebufferFormat> StandardFramebufferFormat(int width, int height, int bits_per_pixel) {
  FramebufferFormat f;
  f.width = width;
  f.height = height;
  f.bits_per_pixel = bits_per_pixel;
  switch (bits_per_pixel) {
    case 16:
      f.red = {11, 5};
      f.green = {5, 6};
      f.blue = {0, 5};
      break;
    case 24:
      f.red = {16, 8};
      f.green = {8, 8};
      f.blue = {0, 8};
      break;
    case 32:
      f.red = {16, 8};
      f.green = {8, 8};
      f.blue = {0, 8};
      f.transp = {24, 8};
      break;
    default:
      return InvalidArgument("framebuffer format: " + std::to_string(bits_per_pixel) +
                             " bits per pixel is not one of 16, 24, 32");
  }
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    return InvalidArgument("framebuffer format: size " + std::to_string(width) + "x" +
                           std::to_string(height) + " is not in 1..16384");
  }
  f.line_length = width * (bits_per_pixel / 8);  // after the size check: cannot overflow
  return f;
}

StatusOr<FramebufferFormat> ParseFramebufferFormat(const std::string& text) {
  // std::from_chars, not sscanf("%d"): a number beyond int is an error, not a wrapped value.
  int values[3] = {};
  const char* p = text.data();
  const char* const end = text.data() + text.size();
  bool ok = true;
  for (int i = 0; i < 3 && ok; ++i) {
    if (i > 0) ok = p != end && *p++ == 'x';
    if (!ok) break;
    const std::from_chars_result r = std::from_chars(p, end, values[i]);
    ok = r.ec == std::errc() && r.ptr != p;
    p = r.ptr;
  }
  const int w = values[0], h = values[1], bpp = values[2];
  if (!ok || p != end) {
    return InvalidArgument("framebuffer format '" + text +
                           "': expected WIDTHxHEIGHTxBPP, e.g. "
                           "640x480x16");
  }
  return StandardFramebufferFormat(w, h, bpp);
}

void PackGreyPixel(uint8_t v, const FramebufferFormat& f, uint8_t* out) {
  auto bits = [v](const FramebufferFormat::Channel& c) -> uint32_t {
    return c.length <= 0 ? 0u : (static_cast<uint32_t>(v) >> (8 - c.length)) << c.offset;
  };
  uint32_t pixel = bits(f.red) | bits(f.green) | bits(f.blue);
  if (f.transp.length > 0) pixel |= ((1u << f.transp.length) - 1) << f.transp.offset;
  for (int i = 0; i < f.bits_per_pixel / 8; ++i) out[i] = static_cast<uint8_t>(pixel >> (8 * i));
}

StatusOr<FramebufferFormat> QueryFramebuffer(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("framebuffer " + path + ": cannot open: " + Errno());
  fb_var_screeninfo var{};
  fb_fix_screeninfo fix{};
  if (::ioctl(fd.get(), FBIOGET_VSCREENINFO, &var) != 0) {
    return IoError("framebuffer " + path + ": FBIOGET_VSCREENINFO failed (" + Errno() +
                   "): not a framebuffer device?");
  }
  if (::ioctl(fd.get(), FBIOGET_FSCREENINFO, &fix) != 0) {
    return IoError("framebuffer " + path + ": FBIOGET_FSCREENINFO failed: " + Errno());
  }
  if (fix.visual != FB_VISUAL_TRUECOLOR && fix.visual != FB_VISUAL_DIRECTCOLOR) {
    return Unsupported("framebuffer " + path + ": visual " + std::to_string(fix.visual) +
                       " is not true colour (palette displays are not supported)");
  }
  FramebufferFormat f;
  f.width = static_cast<int>(var.xres);
  f.height = static_cast<int>(var.yres);
  f.x_offset = static_cast<int>(var.xoffset);
  f.y_offset = static_cast<int>(var.yoffset);
  f.bits_per_pixel = static_cast<int>(var.bits_per_pixel);
  f.line_length = static_cast<int>(fix.line_length);
  f.red = {static_cast<int>(var.red.offset), static_cast<int>(var.red.length)};
  f.green = {static_cast<int>(var.green.offset), static_cast<int>(var.green.length)};
  f.blue = {static_cast<int>(var.blue.offset), static_cast<int>(var.blue.length)};
  f.transp = {static_cast<int>(var.transp.offset), static_cast<int>(var.transp.length)};
  EVAE_RETURN_IF_ERROR(CheckFormat("framebuffer " + path, f));
  return f;
}

Status ShowOnFramebuffer(const std::string& path, const GreyImage& image,
                         const std::optional<FramebufferFormat>& format, int max_scale) {
  FramebufferFormat f;
  if (format) {
    f = *format;
    EVAE_RETURN_IF_ERROR(CheckFormat("framebuffer " + path, f));
  } else {
    EVAE_ASSIGN_OR_RETURN(f, QueryFramebuffer(path));
  }
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height) {
    return InvalidArgument("framebuffer " + path + ": empty or inconsistent image");
  }
  const int scale = std::clamp(std::min(f.width / image.width, f.height / image.height), 0,
                               std::max(1, max_scale));
  if (scale < 1) {
    return InvalidArgument("framebuffer " + path + ": the image (" + std::to_string(image.width) +
                           "x" + std::to_string(image.height) + ") is larger than the screen (" +
                           std::to_string(f.width) + "x" + std::to_string(f.height) + ")");
  }
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("framebuffer " + path + ": cannot open for writing: " + Errno());
  const int bytes = f.bits_per_pixel / 8;
  const int w = image.width * scale, h = image.height * scale;
  const int x0 = f.x_offset + (f.width - w) / 2, y0 = f.y_offset + (f.height - h) / 2;
  std::vector<uint8_t> row(static_cast<size_t>(w) * bytes);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = image.pixels.data() + static_cast<size_t>(y) * image.width;
    for (int x = 0; x < w; ++x)
      PackGreyPixel(src[x / scale], f, row.data() + static_cast<size_t>(x) * bytes);
    for (int k = 0; k < scale; ++k) {
      const off_t at =
          static_cast<off_t>(y0 + y * scale + k) * f.line_length + static_cast<off_t>(x0) * bytes;
      size_t done = 0;
      while (done < row.size()) {
        const ssize_t n = ::pwrite(fd.get(), row.data() + done, row.size() - done, at + done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          return IoError("framebuffer " + path + ": write at offset " + std::to_string(at + done) +
                         " failed: " + (n < 0 ? Errno() : "end of device"));
        }
        done += static_cast<size_t>(n);
      }
    }
  }
  return Status::Ok();
}

}  // namespace edgevae::digits
