#include "tools/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <string>

namespace edgevae {
namespace {

// One inflation: zlib's stream, the output grown (doubling) as it arrives, and the limit it may not
// pass: the declared size once that is known. The output is never sized to the declaration before
// the bytes come: a 41-byte file that declares 256 MiB would otherwise make every read allocate
// and zero 256 MiB (found by the idx harness, docs/reliability-fuzzing.md).
class Inflater {
 public:
  Inflater(const uint8_t* data, size_t size, const std::string& name, size_t max_bytes,
           const DeclaredSize& declared)
      : size_(size), name_(name), max_(max_bytes), limit_(max_bytes), declared_(declared) {
    zs_.next_in = const_cast<Bytef*>(data);
    zs_.avail_in = static_cast<uInt>(std::min<size_t>(size, UINT_MAX));
    out_.resize(std::min<size_t>(std::max<size_t>(size * 4, 1 << 16), max_bytes));
  }
  ~Inflater() {
    if (ready_) inflateEnd(&zs_);
  }

  StatusOr<Inflated> Run(bool salvage) {
    if (inflateInit2(&zs_, 15 + 16) != Z_OK) return Internal(name_ + ": zlib inflateInit2 failed");
    ready_ = true;
    Inflated result;
    for (;;) {
      EVAE_RETURN_IF_ERROR(LearnLimit());
      if (zs_.total_out == out_.size()) {
        if (out_.size() >= limit_) {
          EVAE_ASSIGN_OR_RETURN(const int rc, ProbeOneMoreByte());
          if (rc == Z_STREAM_END) break;
          result.damage = Damage(rc == Z_OK || rc == Z_BUF_ERROR ? Z_BUF_ERROR : rc);
        } else {
          out_.resize(std::min(out_.size() * 2, limit_));
          continue;
        }
      } else {
        zs_.next_out = out_.data() + zs_.total_out;
        zs_.avail_out = static_cast<uInt>(std::min<size_t>(out_.size() - zs_.total_out, UINT_MAX));
        const int rc = inflate(&zs_, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) break;
        if (rc == Z_OK || (rc == Z_BUF_ERROR && zs_.avail_in != 0)) continue;
        result.damage = Damage(rc);
      }
      if (!salvage) return result.damage;
      break;
    }
    EVAE_RETURN_IF_ERROR(LearnLimit());
    if (result.damage.ok() && zs_.total_in < size_) {
      return DataError(name_ + ": " + std::to_string(size_ - zs_.total_in) +
                       " trailing bytes after the gzip member that ends at compressed byte " +
                       std::to_string(zs_.total_in) +
                       " (a second member or junk; one is expected)");
    }
    out_.resize(zs_.total_out);
    result.bytes = std::move(out_);
    return result;
  }

 private:
  // Once the inflated bytes show their declared size, that is the limit.
  Status LearnLimit() {
    if (limit_known_) return Status::Ok();
    const size_t declared = declared_.from_prefix(out_.data(), zs_.total_out);
    if (declared == 0) return Status::Ok();
    if (declared > max_) {
      return DataError(
          name_ + ": gzip data too large: " + declared_.what + " declares " +
          (declared == SIZE_MAX ? std::string("more than SIZE_MAX") : std::to_string(declared)) +
          " bytes, above the " + std::to_string(max_) + "-byte limit for compressed input");
    }
    limit_ = declared;
    limit_known_ = true;
    if (zs_.total_out > limit_) return TooLarge();
    if (out_.size() > limit_) out_.resize(std::max<size_t>(limit_, 1));
    return Status::Ok();
  }
  // The output is full: one more byte would mean more data than allowed. Returns zlib's code.
  StatusOr<int> ProbeOneMoreByte() {
    uint8_t probe;
    zs_.next_out = &probe;
    zs_.avail_out = 1;
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    if (zs_.avail_out == 0) return TooLarge();
    return rc;
  }
  Status TooLarge() const {
    return DataError(name_ + ": gzip data too large: it inflates to more than the " +
                     std::to_string(limit_) + " bytes " +
                     (limit_known_ ? std::string(declared_.what) + " declares"
                                   : std::string("this reader takes")) +
                     " (stopped at compressed byte " + std::to_string(zs_.total_in) + ")");
  }
  // A stream that stopped early: cut off (Z_BUF_ERROR with no input left) or corrupt.
  Status Damage(int rc) const {
    if (rc == Z_BUF_ERROR) {
      return DataError(name_ + ": truncated gzip data: the stream ends at compressed byte " +
                       std::to_string(zs_.total_in) + " before its end marker");
    }
    const std::string why = zs_.msg != nullptr ? zs_.msg : "error " + std::to_string(rc);
    return DataError(name_ + ": corrupt gzip data near compressed byte " +
                     std::to_string(zs_.total_in) + ": " + why);
  }

  z_stream zs_{};
  bool ready_ = false;
  size_t size_;
  const std::string& name_;
  size_t max_, limit_;
  bool limit_known_ = false;
  const DeclaredSize& declared_;
  std::vector<uint8_t> out_;
};

}  // namespace

bool IsGzip(const uint8_t* data, size_t size) {
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

StatusOr<Inflated> Gunzip(const uint8_t* data, size_t size, const std::string& name,
                          size_t max_bytes, const DeclaredSize& declared, bool salvage) {
  Inflater inflater(data, size, name, max_bytes, declared);
  return inflater.Run(salvage);
}

}  // namespace edgevae
