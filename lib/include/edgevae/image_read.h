// Image input for scoring: 8-bit grey images from PNG (libpng; any colour type is converted to
// grey) or binary PGM (P5) files, and the image files of a folder. (Image output lives in
// edgevae/image.h.)
#ifndef EDGEVAE_IMAGE_READ_H_
#define EDGEVAE_IMAGE_READ_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/image.h"
#include "edgevae/status.h"

namespace edgevae {

// The largest image decoded: far larger than anything this project scores (28 x 28), it keeps a
// corrupt header from asking for gigabytes (4096 x 4096 pixels).
inline constexpr uint64_t kMaxImagePixels = uint64_t{1} << 24;
// The largest image file read: a PGM of kMaxImagePixels with room for its header. Checked before
// reading, so a folder cannot make a reader hold more.
inline constexpr uint64_t kMaxImageFileBytes = kMaxImagePixels + (uint64_t{1} << 16);

// Decodes a PNG or PGM (P5, maxval 1..255, rescaled to 0..255) file by its content, not its
// name. Errors name the path and what is wrong (not an image, truncated, 16-bit PGM, ...). Only
// a regular file (symlinks followed) of at most kMaxImageFileBytes is read: a named pipe (which
// could block forever), a device (/dev/zero never ends) or a larger file is refused unread.
StatusOr<GreyImage> ReadGreyImage(const std::string& path);

// ReadGreyImage, then requires width x height (e.g. 28x28 for MNIST models): any other size is
// an error naming the size found and the size expected.
StatusOr<GreyImage> ReadGreyImageSized(const std::string& path, int width, int height);

// The .png and .pgm files (any case) directly inside `dir`, sorted by name, as paths.
StatusOr<std::vector<std::string>> ListImageFiles(const std::string& dir);

// True if `path` is a directory.
bool IsDirectory(const std::string& path);

}  // namespace edgevae

#endif  // EDGEVAE_IMAGE_READ_H_
