// The IDX format (LeCun et al.): bytes 0-1 are zero, byte 2 the element type, byte 3 the number
// of dimensions, then one big-endian u32 per dimension, then the elements in row-major order. Only
// unsigned bytes (type 0x08) are read here; MNIST uses nothing else.
//
// A reader never trusts the header: the element count is checked for overflow and against the
// file's length before anything is allocated, so a corrupt header cannot ask for gigabytes.
//
// gzip-compressed files (magic 1f 8b, as Debian's dataset-fashion-mnist ships them) are
// inflated in memory first; inflation stops at kMaxInflatedBytes so that a small compressed file
// cannot ask for gigabytes either.
#include "edgevae/idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "edgevae/status.h"
#include "runtime/file_util.h"
#include "tools/gzip.h"

namespace edgevae {
namespace {

constexpr uint8_t kTypeU8 = 0x08;
constexpr size_t kMaxDims = 4;
constexpr size_t kMaxHeaderBytes = 4 + 4 * kMaxDims;

std::string Hex2(uint8_t b) {
  char buf[5];
  std::snprintf(buf, sizeof(buf), "0x%02x", b);
  return buf;
}

const char* TypeName(uint8_t type) {
  switch (type) {
    case 0x08:
      return "u8";
    case 0x09:
      return "i8";
    case 0x0B:
      return "i16";
    case 0x0C:
      return "i32";
    case 0x0D:
      return "f32";
    case 0x0E:
      return "f64";
    default:
      return "not an IDX type";
  }
}

std::string DimsText(const std::vector<uint32_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(dims[i]);
  }
  return out;
}

uint32_t LoadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void StoreBigEndian32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

struct Header {
  std::vector<uint32_t> dims;
  size_t header_bytes = 0;
  size_t data_bytes = 0;  // product(dims): one byte per u8 element
};

// Validates the header and the total length. `data` holds at least min(file_size,
// kMaxHeaderBytes) bytes; `file_size` is the length of the whole file.
// With `short_ok`, a file with fewer data bytes than the header says is accepted: *short_ok
// receives the truncation error and the caller decides what to keep.
StatusOr<Header> ParseHeader(const uint8_t* data, uint64_t file_size, const std::string& name,
                             Status* short_ok = nullptr) {
  if (file_size < 4) {
    return DataError(name + ": too short for an IDX header: expected at least 4 bytes, file has " +
                     std::to_string(file_size));
  }
  if (data[0] != 0 || data[1] != 0) {
    std::string msg = name + ": bad magic: expected 0x00 0x00 in bytes 0-1, found " +
                      Hex2(data[0]) + " " + Hex2(data[1]);
    return DataError(std::move(msg));
  }
  const uint8_t type = data[2];
  if (type != kTypeU8) {
    return DataError(name + ": unsupported element type " + Hex2(type) + " (" + TypeName(type) +
                     ") in byte 2: expected 0x08 (u8)");
  }
  const size_t ndims = data[3];
  if (ndims < 1 || ndims > kMaxDims) {
    return DataError(name + ": bad dimension count in byte 3: expected 1 to " +
                     std::to_string(kMaxDims) + ", found " + std::to_string(ndims));
  }
  Header h;
  h.header_bytes = 4 + 4 * ndims;
  if (file_size < h.header_bytes) {
    return DataError(name + ": truncated header: " + std::to_string(ndims) + " dimensions need " +
                     std::to_string(h.header_bytes) + " header bytes, file has " +
                     std::to_string(file_size));
  }
  h.dims.resize(ndims);
  for (size_t i = 0; i < ndims; ++i) h.dims[i] = LoadBigEndian32(data + 4 + 4 * i);
  for (size_t i = 0; i < ndims; ++i) {
    if (h.dims[i] == 0) {
      return DataError(name + ": dimension " + std::to_string(i) + " of " + DimsText(h.dims) +
                       " is zero: expected every dimension >= 1");
    }
  }
  // The count must fit size_t (32 bits on some boards) with the header added.
  size_t count = 1;
  for (uint32_t d : h.dims) {
    if (__builtin_mul_overflow(count, size_t{d}, &count)) count = SIZE_MAX;
  }
  if (count > SIZE_MAX - h.header_bytes) {
    return DataError(name + ": header says " + DimsText(h.dims) +
                     " elements, which overflows a size_t: expected at most " +
                     std::to_string(SIZE_MAX - h.header_bytes));
  }
  h.data_bytes = count;
  const uint64_t found = file_size - h.header_bytes;
  const std::string says = ": header says " + DimsText(h.dims) + " = " +
                           std::to_string(h.data_bytes) + " data bytes, file has " +
                           std::to_string(found) + " after the " + std::to_string(h.header_bytes) +
                           "-byte header";
  if (found < h.data_bytes) {
    if (short_ok == nullptr) return DataError(name + ": truncated" + says);
    *short_ok = DataError(name + ": truncated" + says);
    return h;
  }
  if (found > h.data_bytes) {
    return DataError(name + ": trailing bytes" + says + " (" +
                     std::to_string(found - h.data_bytes) + " extra)");
  }
  return h;
}

// Larger than any IDX file this project reads (MNIST's training images are 47 MB): a gzip file
// inflates to at most this, and to no more than its own IDX header declares, so that a 1 MB
// "bomb" costs neither gigabytes nor minutes. Streams (a pipe, a device) are read up to this too.
constexpr size_t kMaxInflatedBytes = size_t{256} << 20;

// The IDX header's declared length (header + elements) once `n` inflated bytes show it, 0 while
// they do not yet.
size_t DeclaredIdxBytes(const uint8_t* p, size_t n) {
  if (n < 4) return 0;
  const size_t ndims = p[3];
  const size_t header = 4 + 4 * ndims;
  if (ndims < 1 || ndims > kMaxDims) return header;  // ParseHeader names the problem
  if (n < header) return 0;
  size_t count = 1;
  for (size_t i = 0; i < ndims; ++i) {
    if (__builtin_mul_overflow(count, size_t{LoadBigEndian32(p + 4 + 4 * i)}, &count)) {
      return SIZE_MAX;
    }
  }
  return count > SIZE_MAX - header ? SIZE_MAX : header + count;
}

// gzip IDX files inflate to at most what their header declares.
const DeclaredSize kIdxDeclares = {DeclaredIdxBytes, "its IDX header"};

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  if (dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

}  // namespace

StatusOr<IdxArray> ParseIdx(const uint8_t* data, size_t size, const std::string& name) {
  if (IsGzip(data, size)) {
    EVAE_ASSIGN_OR_RETURN(const Inflated inflated, Gunzip(data, size, name, kMaxInflatedBytes,
                                                          kIdxDeclares, /*salvage=*/false));
    return ParseIdx(inflated.bytes.data(), inflated.bytes.size(), name + " (inflated)");
  }
  EVAE_ASSIGN_OR_RETURN(Header h, ParseHeader(data, size, name));
  IdxArray array;
  array.dims = std::move(h.dims);
  array.values.assign(data + h.header_bytes, data + h.header_bytes + h.data_bytes);
  return array;
}

StatusOr<IdxArray> ReadIdx(const std::string& path) {
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return IoError(path + ": cannot open: " + io::ErrnoText(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError(path + ": cannot stat: " + io::ErrnoText(errno));
  if (S_ISDIR(st.st_mode)) return IoError(path + ": is a directory, expected an IDX file");
  if (!S_ISREG(st.st_mode)) {
    std::vector<uint8_t> bytes;
    EVAE_RETURN_IF_ERROR(io::ReadToEnd(fd.get(), path, &bytes, kMaxInflatedBytes));
    return ParseIdx(bytes.data(), bytes.size(), path);
  }

  // A regular file: validate the header against the file's length, then read the elements
  // straight into the result (MNIST's 47 MB training images are not held twice).
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint8_t prefix[kMaxHeaderBytes] = {};
  const size_t want = file_size < kMaxHeaderBytes ? file_size : kMaxHeaderBytes;
  EVAE_ASSIGN_OR_RETURN(const size_t got, io::ReadFully(fd.get(), path, prefix, want));
  if (got != want) {
    return DataError(path + ": file shrank while reading: expected " + std::to_string(want) +
                     " header bytes, read " + std::to_string(got));
  }
  if (IsGzip(prefix, got)) {
    std::vector<uint8_t> bytes(prefix, prefix + got);
    EVAE_RETURN_IF_ERROR(io::ReadToEnd(fd.get(), path, &bytes, kMaxInflatedBytes));
    return ParseIdx(bytes.data(), bytes.size(), path);
  }
  EVAE_ASSIGN_OR_RETURN(Header h, ParseHeader(prefix, file_size, path));
  if (::lseek(fd.get(), static_cast<off_t>(h.header_bytes), SEEK_SET) < 0) {
    return IoError(path + ": seek failed: " + io::ErrnoText(errno));
  }
  IdxArray array;
  array.dims = std::move(h.dims);
  array.values.resize(h.data_bytes);
  EVAE_ASSIGN_OR_RETURN(const size_t n, io::ReadFully(fd.get(), path, array.values.data(),
                                                      h.data_bytes, h.header_bytes));
  if (n != h.data_bytes) {
    return DataError(path + ": file shrank while reading: expected " +
                     std::to_string(h.data_bytes) + " data bytes, read " + std::to_string(n));
  }
  return array;
}

Status WriteIdx(const std::string& path, const IdxArray& array) {
  const size_t ndims = array.dims.size();
  if (ndims < 1 || ndims > kMaxDims) {
    return InvalidArgument(path + ": cannot write IDX with " + std::to_string(ndims) +
                           " dimensions: expected 1 to " + std::to_string(kMaxDims));
  }
  size_t count = 1;
  for (size_t i = 0; i < ndims; ++i) {
    if (array.dims[i] == 0) {
      return InvalidArgument(path + ": cannot write IDX: dimension " + std::to_string(i) + " of " +
                             DimsText(array.dims) + " is zero");
    }
    if (__builtin_mul_overflow(count, size_t{array.dims[i]}, &count)) count = SIZE_MAX;
  }
  if (count != array.values.size()) {
    return InvalidArgument(path + ": cannot write IDX: dims " + DimsText(array.dims) + " need " +
                           std::to_string(count) + " values, found " +
                           std::to_string(array.values.size()));
  }
  const size_t header_bytes = 4 + 4 * ndims;
  std::vector<uint8_t> bytes(header_bytes + count);
  bytes[2] = kTypeU8;
  bytes[3] = static_cast<uint8_t>(ndims);
  for (size_t i = 0; i < ndims; ++i) StoreBigEndian32(array.dims[i], bytes.data() + 4 + 4 * i);
  std::copy(array.values.begin(), array.values.end(), bytes.begin() + header_bytes);
  return io::WriteFileAtomic(path, bytes);
}

StatusOr<ImageSet> LoadImageSet(const std::string& images_path, const std::string& labels_path) {
  EVAE_ASSIGN_OR_RETURN(IdxArray images, ReadIdx(images_path));
  if (images.dims.size() != 3) {
    return DataError(images_path + ": expected a 3-D IDX array (count x rows x cols), found " +
                     std::to_string(images.dims.size()) + "-D " + DimsText(images.dims));
  }
  const uint64_t pixels_per_image = uint64_t{images.dims[1]} * images.dims[2];
  if (images.dims[0] > INT_MAX || pixels_per_image > INT_MAX) {
    return DataError(images_path + ": image array " + DimsText(images.dims) +
                     " too large: expected count and rows*cols at most " + std::to_string(INT_MAX));
  }
  ImageSet set;
  set.count = static_cast<int>(images.dims[0]);
  set.rows = static_cast<int>(images.dims[1]);
  set.cols = static_cast<int>(images.dims[2]);
  set.pixels = std::move(images.values);
  if (labels_path.empty()) return set;

  EVAE_ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(labels_path));
  if (labels.dims.size() != 1) {
    return DataError(labels_path + ": expected a 1-D IDX array of labels, found " +
                     std::to_string(labels.dims.size()) + "-D " + DimsText(labels.dims));
  }
  if (labels.dims[0] != images.dims[0]) {
    return DataError(labels_path + ": has " + std::to_string(labels.dims[0]) +
                     " labels, expected one per image of " + images_path + " (" +
                     std::to_string(images.dims[0]) + ")");
  }
  for (size_t i = 0; i < labels.values.size(); ++i) {
    if (labels.values[i] > 9) {
      return DataError(labels_path + ": label " + std::to_string(i) + " (byte offset " +
                       std::to_string(8 + i) + ") is " + std::to_string(labels.values[i]) +
                       ": expected 0 to 9");
    }
  }
  set.labels = std::move(labels.values);
  return set;
}

StatusOr<ImageSet> LoadImagesSalvaging(const std::string& path, Status* damage,
                                       int* declared_count) {
  *damage = Status::Ok();
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return IoError(path + ": cannot open: " + io::ErrnoText(errno));
  std::vector<uint8_t> bytes;
  EVAE_RETURN_IF_ERROR(io::ReadToEnd(fd.get(), path, &bytes, kMaxInflatedBytes));
  std::string name = path;
  if (IsGzip(bytes.data(), bytes.size())) {
    // A cut-off gzip file still yields the bytes inflated so far; one that is too large does not.
    EVAE_ASSIGN_OR_RETURN(Inflated inflated,
                          Gunzip(bytes.data(), bytes.size(), path, kMaxInflatedBytes, kIdxDeclares,
                                 /*salvage=*/true));
    if (!inflated.damage.ok()) {
      *damage = DataError(inflated.damage.message() + "; keeping the " +
                          std::to_string(inflated.bytes.size()) + " bytes inflated before it");
    }
    bytes = std::move(inflated.bytes);
    name += " (inflated)";
  }
  Status short_data;
  EVAE_ASSIGN_OR_RETURN(Header h, ParseHeader(bytes.data(), bytes.size(), name, &short_data));
  if (h.dims.size() != 3) {
    return DataError(path + ": expected a 3-D IDX array (count x rows x cols), found " +
                     std::to_string(h.dims.size()) + "-D " + DimsText(h.dims));
  }
  const uint64_t per_image = uint64_t{h.dims[1]} * h.dims[2];
  if (h.dims[0] > INT_MAX || per_image > INT_MAX) {
    return DataError(path + ": image array " + DimsText(h.dims) + " too large");
  }
  const size_t available = std::min<size_t>(bytes.size() - h.header_bytes, h.data_bytes);
  ImageSet set;
  set.count = static_cast<int>(available / per_image);
  set.rows = static_cast<int>(h.dims[1]);
  set.cols = static_cast<int>(h.dims[2]);
  set.pixels.assign(bytes.begin() + static_cast<ptrdiff_t>(h.header_bytes),
                    bytes.begin() + static_cast<ptrdiff_t>(h.header_bytes + set.count * per_image));
  *declared_count = static_cast<int>(h.dims[0]);
  if (!short_data.ok() && damage->ok()) {
    *damage = DataError(short_data.message() + "; keeping the " + std::to_string(set.count) +
                        " complete images of " + std::to_string(h.dims[0]));
  } else if (!damage->ok()) {
    *damage = DataError(damage->message() + " (" + std::to_string(set.count) +
                        " complete images of " + std::to_string(h.dims[0]) + ")");
  }
  return set;
}

ImageSet SelectLabels(const ImageSet& set, const std::vector<int>& labels) {
  bool keep[256] = {};
  for (int l : labels) {
    if (l >= 0 && l < 256) keep[l] = true;
  }
  ImageSet out;
  out.rows = set.rows;
  out.cols = set.cols;
  const size_t per = static_cast<size_t>(set.rows) * set.cols;
  for (int i = 0; i < set.count && !set.labels.empty(); ++i) {
    if (!keep[set.labels[i]]) continue;
    out.pixels.insert(out.pixels.end(), set.image(i), set.image(i) + per);
    out.labels.push_back(set.labels[i]);
    ++out.count;
  }
  return out;
}

StatusOr<MnistData> LoadMnist(const std::string& dir) {
  static constexpr const char* kFiles[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  std::string paths[4];
  std::string first_missing;
  int missing = 0;
  for (int i = 0; i < 4; ++i) {
    paths[i] = JoinPath(dir, kFiles[i]);
    struct stat st;
    if (::stat(paths[i].c_str(), &st) != 0 && errno == ENOENT) {
      // Debian's dataset-fashion-mnist ships the same names gzip-compressed.
      const std::string gz = paths[i] + ".gz";
      if (::stat(gz.c_str(), &st) == 0) {
        paths[i] = gz;
      } else if (missing++ == 0) {
        first_missing = paths[i];
      }
    }
  }
  if (missing > 0) {
    const std::string shown_dir = dir.empty() ? "." : dir;
    return IoError(first_missing + ": not found (" + std::to_string(missing) +
                   " of the 4 MNIST files are missing from " + shown_dir +
                   "); run tools/fetch-mnist.sh " + shown_dir + " to download them");
  }
  MnistData mnist;
  EVAE_ASSIGN_OR_RETURN(mnist.train, LoadImageSet(paths[0], paths[1]));
  EVAE_ASSIGN_OR_RETURN(mnist.test, LoadImageSet(paths[2], paths[3]));
  if (mnist.test.rows != mnist.train.rows || mnist.test.cols != mnist.train.cols) {
    return DataError(paths[2] + ": images are " + std::to_string(mnist.test.rows) + "x" +
                     std::to_string(mnist.test.cols) + ", expected " +
                     std::to_string(mnist.train.rows) + "x" + std::to_string(mnist.train.cols) +
                     " like " + paths[0]);
  }
  return mnist;
}

ImageSet Head(const ImageSet& set, int n) {
  const int keep = n < 0 ? 0 : (n < set.count ? n : set.count);
  const size_t pixels = static_cast<size_t>(keep) * set.rows * set.cols;
  ImageSet head;
  head.count = keep;
  head.rows = set.rows;
  head.cols = set.cols;
  head.pixels.assign(set.pixels.begin(), set.pixels.begin() + static_cast<ptrdiff_t>(pixels));
  if (!set.labels.empty()) {
    head.labels.assign(set.labels.begin(), set.labels.begin() + keep);
  }
  return head;
}

}  // namespace edgevae
