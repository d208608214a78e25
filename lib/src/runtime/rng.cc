#include "edgevae/rng.h"

#include <algorithm>

namespace edgevae {

std::array<uint32_t, 4> Philox4x32(uint64_t seed, uint64_t stream, uint64_t block) {
  // Constants from the Random123 reference implementation.
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

void RngStream::FillBits(uint64_t first, uint32_t* out, size_t n) const {
  size_t i = 0;
  while (i < n && (first + i) % 4 != 0) {
    out[i] = Bits(first + i);
    ++i;
  }
  for (; i + 4 <= n; i += 4) {
    const auto block = Philox4x32(seed_, stream_, (first + i) / 4);
    out[i] = block[0];
    out[i + 1] = block[1];
    out[i + 2] = block[2];
    out[i + 3] = block[3];
  }
  for (; i < n; ++i) out[i] = Bits(first + i);
}

}  // namespace edgevae

#include "kernels/elementwise.h"

namespace edgevae {

void FillNormal(const RngStream& rng, uint64_t first, float* out, size_t n) {
  constexpr size_t kChunk = 32, kChunksPerPass = 8;
  uint32_t bits[kChunk * kChunksPerPass];
  size_t done = 0;
  while (done < n) {
    const size_t chunks = std::min(kChunksPerPass, (n - done + kChunk - 1) / kChunk);
    rng.FillBits(first + done, bits, chunks * kChunk);
    if (n - done >= chunks * kChunk) {
      simd::BoxMuller(bits, out + done, chunks);
      done += chunks * kChunk;
    } else {
      float tmp[kChunk * kChunksPerPass];
      simd::BoxMuller(bits, tmp, chunks);
      std::copy(tmp, tmp + (n - done), out + done);
      done = n;
    }
  }
}

}  // namespace edgevae
