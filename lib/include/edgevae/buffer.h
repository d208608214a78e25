// A 64-byte-aligned, zero-initialised float/byte buffer with XNNPACK's read-over slack: XNNPACK
// reads up to XNN_EXTRA_BYTES past the end of each input, so every buffer that may feed an
// operator carries that much padding.
#ifndef EDGEVAE_BUFFER_H_
#define EDGEVAE_BUFFER_H_

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include <stdlib.h>  // ::aligned_alloc: newlib's libstdc++ (bare metal) has no std::aligned_alloc

namespace edgevae {

inline constexpr size_t kAlignment = 64;
inline constexpr size_t kReadSlackBytes = 64;  // >= XNN_EXTRA_BYTES (16), a whole cache line

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { Resize(n); }

  // Discards the contents; the new buffer is zero-filled (slack included).
  void Resize(size_t n) {
    size_t bytes = (n * sizeof(T) + kReadSlackBytes + kAlignment - 1) / kAlignment * kAlignment;
    T* p = static_cast<T*>(::aligned_alloc(kAlignment, bytes));
    if (p != nullptr) std::memset(static_cast<void*>(p), 0, bytes);
    data_.reset(p);
    size_ = p != nullptr ? n : 0;
  }
  AlignedBuffer Clone() const {
    AlignedBuffer copy(size_);
    if (size_ != 0) std::memcpy(copy.data(), data(), size_ * sizeof(T));
    return copy;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }
  std::span<T> span() { return {data(), size_}; }
  std::span<const T> span() const { return {data(), size_}; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
};

}  // namespace edgevae

#endif  // EDGEVAE_BUFFER_H_
