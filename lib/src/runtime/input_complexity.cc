#include "runtime/input_complexity.h"

#include <limits>
#include <vector>

#include "edgevae/score.h"
#if !defined(EDGEVAE_BARE_METAL)
#include <zlib.h>
#endif

namespace edgevae {
namespace {
constexpr double kNatsPerByte = 8.0 * 0.69314718055994530942;
}  // namespace

#if defined(EDGEVAE_BARE_METAL)

struct ComplexityCoder::Stream {};
ComplexityCoder::ComplexityCoder() = default;
ComplexityCoder::~ComplexityCoder() = default;
Status ComplexityCoder::Init(size_t) {
  return Unsupported("the -ic and -icr scores compress each image with zlib, which a bare-metal "
                     "build does not have: calibrate the model with bce or mse");
}
StatusOr<double> ComplexityCoder::Nats(const uint8_t*) { return Init(0); }
double InputComplexityNats(const uint8_t*, size_t) {
  return std::numeric_limits<double>::quiet_NaN();
}

#else

struct ComplexityCoder::Stream {
  z_stream deflater{};
  bool ready = false;
  std::vector<Bytef> out;
  ~Stream() {
    if (ready) deflateEnd(&deflater);
  }
};

ComplexityCoder::ComplexityCoder() = default;
ComplexityCoder::~ComplexityCoder() = default;

Status ComplexityCoder::Init(size_t pixels) {
  stream_ = std::make_unique<Stream>();
  if (deflateInit(&stream_->deflater, 9) != Z_OK) return Internal("zlib deflateInit failed");
  stream_->ready = true;
  stream_->out.resize(compressBound(static_cast<uLong>(pixels)));
  pixels_ = pixels;
  return Status::Ok();
}

// deflateReset reuses the memory deflateInit allocated.
StatusOr<double> ComplexityCoder::Nats(const uint8_t* image) {
  if (stream_ == nullptr) return Internal("ComplexityCoder::Nats before Init");
  z_stream& d = stream_->deflater;
  if (deflateReset(&d) != Z_OK) return Internal("zlib deflateReset failed");
  d.next_in = const_cast<Bytef*>(image);
  d.avail_in = static_cast<uInt>(pixels_);
  d.next_out = stream_->out.data();
  d.avail_out = static_cast<uInt>(stream_->out.size());
  if (deflate(&d, Z_FINISH) != Z_STREAM_END) return Internal("zlib deflate failed");
  return kNatsPerByte * static_cast<double>(d.total_out);
}

double InputComplexityNats(const uint8_t* pixels, size_t n) {
  uLongf size = compressBound(static_cast<uLong>(n));
  std::vector<Bytef> out(size);
  if (compress2(out.data(), &size, pixels, static_cast<uLong>(n), 9) != Z_OK) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return kNatsPerByte * static_cast<double>(size);
}

#endif

}  // namespace edgevae
