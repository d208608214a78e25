// PNG and PGM input (edgevae/image_read.h). PNG goes through libpng's simplified API from memory
// (png_image_begin_read_from_memory), which keeps libpng's longjmp inside libpng.
#include "edgevae/image_read.h"

#include <dirent.h>
#include <fcntl.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "runtime/file_util.h"

namespace edgevae {
namespace {

// libpng allocates a chunk's declared length before it reads the chunk, so a file of 100 bytes
// whose zTXt chunk claims 1.7 GB had it allocate 1.7 GB. No chunk can be longer than what is left
// of the file: refuse one that is, before libpng sees it.
Status CheckPngChunkLengths(std::span<const uint8_t> bytes, const std::string& path) {
  size_t pos = 8;  // after the signature
  while (bytes.size() - pos >= 8) {
    const uint8_t* p = bytes.data() + pos;
    const uint32_t length = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    const size_t left = bytes.size() - pos - 8;  // the chunk's data and CRC
    if (length > left || left - length < 4) {
      std::string type;
      for (int i = 4; i < 8; ++i) type += std::isalpha(p[i]) ? static_cast<char>(p[i]) : '?';
      return DataError(path + ": truncated PNG: chunk '" + type + "' at byte " +
                       std::to_string(pos) + " declares " + std::to_string(length) +
                       " data bytes, the file has " + std::to_string(left) +
                       " after its header (data and CRC)");
    }
    if (std::memcmp(p + 4, "IEND", 4) == 0) break;  // libpng ignores what follows
    pos += 12 + size_t{length};
  }
  return Status::Ok();
}

StatusOr<GreyImage> DecodePng(std::span<const uint8_t> bytes, const std::string& path) {
  EVAE_RETURN_IF_ERROR(CheckPngChunkLengths(bytes, path));
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    const std::string why = png.message;
    png_image_free(&png);
    return DataError(path + ": not a readable PNG: " + why);
  }
  if (uint64_t{png.width} * png.height > kMaxImagePixels) {
    png_image_free(&png);
    return DataError(path + ": PNG of " + std::to_string(png.width) + "x" +
                     std::to_string(png.height) + " pixels is too large (the limit is " +
                     std::to_string(kMaxImagePixels) + " pixels)");
  }
  png.format = PNG_FORMAT_GRAY;
  GreyImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    return DataError(path + ": corrupt PNG: " + why);
  }
  return image;
}

// P5 header: "P5", width, height, maxval as decimal tokens separated by whitespace (with '#'
// comments to the end of a line), then exactly one whitespace byte, then the pixels.
StatusOr<GreyImage> DecodePgm(std::span<const uint8_t> bytes, const std::string& path) {
  size_t pos = 2;
  int64_t values[3];
  const char* names[3] = {"width", "height", "maxval"};
  for (int k = 0; k < 3; ++k) {
    while (pos < bytes.size() && (std::isspace(bytes[pos]) || bytes[pos] == '#')) {
      if (bytes[pos] == '#') {
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      } else {
        ++pos;
      }
    }
    const size_t start = pos;
    int64_t v = 0;
    while (pos < bytes.size() && std::isdigit(bytes[pos]) && v < (int64_t{1} << 32)) {
      v = v * 10 + (bytes[pos++] - '0');
    }
    if (pos == start || v <= 0 || v >= (int64_t{1} << 32)) {
      return DataError(path + ": bad PGM header: expected a positive " + std::string(names[k]) +
                       " at byte " + std::to_string(start));
    }
    values[k] = v;
  }
  if (pos >= bytes.size() || !std::isspace(bytes[pos])) {
    return DataError(path + ": bad PGM header: expected whitespace after maxval at byte " +
                     std::to_string(pos));
  }
  ++pos;
  const int64_t w = values[0], h = values[1], maxval = values[2];
  if (maxval > 255) {
    return Unsupported(path + ": 16-bit PGM (maxval " + std::to_string(maxval) +
                       "): expected maxval <= 255");
  }
  // Each is below 2^32, so the product fits 64 bits unsigned.
  if (static_cast<uint64_t>(w) * static_cast<uint64_t>(h) > kMaxImagePixels) {
    return DataError(path + ": PGM of " + std::to_string(w) + "x" + std::to_string(h) +
                     " pixels is too large (the limit is " + std::to_string(kMaxImagePixels) +
                     " pixels)");
  }
  const size_t need = static_cast<size_t>(w * h);
  if (bytes.size() - pos < need) {
    return DataError(path + ": truncated PGM: " + std::to_string(w) + "x" + std::to_string(h) +
                     " needs " + std::to_string(need) + " pixel bytes after the header, file has " +
                     std::to_string(bytes.size() - pos));
  }
  GreyImage image;
  image.width = static_cast<int>(w);
  image.height = static_cast<int>(h);
  image.pixels.assign(bytes.begin() + static_cast<ptrdiff_t>(pos),
                      bytes.begin() + static_cast<ptrdiff_t>(pos + need));
  if (maxval != 255) {
    for (uint8_t& p : image.pixels) {
      if (p > maxval) {
        return DataError(path + ": PGM pixel value " + std::to_string(p) + " exceeds maxval " +
                         std::to_string(maxval));
      }
      p = static_cast<uint8_t>((p * 255 + maxval / 2) / maxval);
    }
  }
  return image;
}

bool HasImageExtension(const std::string& name) {
  if (name.size() < 5) return false;
  std::string ext = name.substr(name.size() - 4);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".pgm";
}

}  // namespace

StatusOr<GreyImage> ReadGreyImage(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(const io::FileBytes file,
                        io::ReadWholeFile(path, kMaxImageFileBytes, "an image file"));
  const std::span<const uint8_t> bytes = file.bytes;
  static const uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::equal(kPngMagic, kPngMagic + 8, bytes.begin())) {
    return DecodePng(bytes, path);
  }
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] == '5') return DecodePgm(bytes, path);
  return DataError(path + ": not a PNG or binary PGM (P5) file (" + std::to_string(bytes.size()) +
                   " bytes)");
}

StatusOr<GreyImage> ReadGreyImageSized(const std::string& path, int width, int height) {
  EVAE_ASSIGN_OR_RETURN(GreyImage image, ReadGreyImage(path));
  if (image.width != width || image.height != height) {
    return DataError(path + ": image is " + std::to_string(image.width) + "x" +
                     std::to_string(image.height) + " pixels; the model takes " +
                     std::to_string(width) + "x" + std::to_string(height));
  }
  return image;
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

StatusOr<std::vector<std::string>> ListImageFiles(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return IoError(dir + ": cannot open directory: " + io::ErrnoText(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (HasImageExtension(name)) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  for (std::string& n : names) n = prefix + n;
  return names;
}

}  // namespace edgevae
