#include "embedded_models.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

// Defined in the generated mnist_q8_data.cc and mnist2d_q8_data.cc.
extern const uint8_t edgevae_mnist_q8[];
extern const size_t edgevae_mnist_q8_size;
extern const uint8_t edgevae_mnist2d_q8[];
extern const size_t edgevae_mnist2d_q8_size;

namespace edgevae::digits {

std::span<const uint8_t> EmbeddedMnistBytes() { return {edgevae_mnist_q8, edgevae_mnist_q8_size}; }
std::span<const uint8_t> EmbeddedMnist2dBytes() {
  return {edgevae_mnist2d_q8, edgevae_mnist2d_q8_size};
}

namespace {

// The loader copies the bytes; the array's pages (read-only data of the executable, backed by
// the file) were read once and would stay resident: 1.4 MB of the server's 16 MB budget. Giving
// them back is safe: a later read faults them in from the executable again.
void ReleasePages(const uint8_t* data, size_t size) {
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return;
  const uintptr_t p = static_cast<uintptr_t>(page);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + p - 1) / p * p;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) / p * p;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

StatusOr<AnyModel> LoadAndRelease(const uint8_t* data, size_t size, const char* name) {
  StatusOr<AnyModel> model = LoadAnyModelFromBytes(data, size, name);
  ReleasePages(data, size);
  return model;
}

}  // namespace

StatusOr<AnyModel> LoadEmbeddedMnist() {
  return LoadAndRelease(edgevae_mnist_q8, edgevae_mnist_q8_size, "embedded mnist.q8.evae");
}
StatusOr<AnyModel> LoadEmbeddedMnist2d() {
  return LoadAndRelease(edgevae_mnist2d_q8, edgevae_mnist2d_q8_size, "embedded mnist2d.q8.evae");
}

}  // namespace edgevae::digits
