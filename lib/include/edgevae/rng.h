// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy
// as 1, 2, 3", SC'11). A draw is a pure function of (seed, stream, index), so every random number
// in training and evaluation is reproducible from the seed alone, independent of thread count and
// of the order in which work is done. Normals use our own Box-Muller transform (the standard
// library's distributions differ between implementations).
#ifndef EDGEVAE_RNG_H_
#define EDGEVAE_RNG_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace edgevae {

// What a stream of draws is for; combined with up to two counters into a 64-bit stream id.
enum class RngPurpose : uint8_t {
  kInit = 1,        // parameter initialisation (a = tensor index)
  kShuffle = 2,     // epoch permutation (a = epoch)
  kTrainNoise = 3,  // reparameterisation noise (a = epoch, b = step)
  kEvalNoise = 4,   // evaluation noise (a = image block, b = sample block)
  kSample = 5,      // generation from the prior
  kLatentSample = 6,  // draws from a class Gaussian in latent space (a = label)
  kScoreNoise = 7,  // anomaly scores (a, b = low 24 and high bits of the image index)
  kBinarize = 8,    // binarized pixels (a = pass: epoch, 0 or the test pass; b = image index)
  kPlayerNoise = 9,  // an adversarial player's step's latent draws (a = epoch, b = step)
};

constexpr uint64_t StreamId(RngPurpose purpose, uint32_t a = 0, uint32_t b = 0) {
  return (static_cast<uint64_t>(purpose) << 56) ^ (static_cast<uint64_t>(a & 0xFFFFFFu) << 32) ^ b;
}

// One Philox4x32-10 block: four 32-bit words for the 128-bit counter (stream, block).
std::array<uint32_t, 4> Philox4x32(uint64_t seed, uint64_t stream, uint64_t block);

class RngStream {
 public:
  RngStream(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  // The index-th 32-bit word of the stream.
  uint32_t Bits(uint64_t index) const { return Philox4x32(seed_, stream_, index / 4)[index % 4]; }
  // Words [first, first + n) into out.
  void FillBits(uint64_t first, uint32_t* out, size_t n) const;
  // Uniform in [0, 1): the top 24 bits of word `index`.
  float Uniform(uint64_t index) const { return static_cast<float>(Bits(index) >> 8) * 0x1p-24f; }
  // Uniform integer in [0, bound), bound > 0 (Lemire's multiply-shift; bias < bound / 2^32).
  uint32_t Below(uint64_t index, uint32_t bound) const {
    return static_cast<uint32_t>((static_cast<uint64_t>(Bits(index)) * bound) >> 32);
  }
  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }

 private:
  uint64_t seed_;
  uint64_t stream_;
};

// Standard normal draws [first, first + n) of the stream, n >= 0, computed with the SIMD kernels.
// Word pairing (fixed, so the result does not depend on the vector width): values come in chunks
// of 32; within chunk c, for j < 16 with u1 = U'(32c + j), u2 = U(32c + j + 16):
//   out[32c + j] = sqrt(-2 ln u1) cos(2 pi u2),  out[32c + j + 16] = sqrt(-2 ln u1) sin(2 pi u2),
// where U' maps a word to (0, 1] so that the logarithm is finite.
// `first` must be a multiple of 32.
void FillNormal(const RngStream& rng, uint64_t first, float* out, size_t n);

}  // namespace edgevae

#endif  // EDGEVAE_RNG_H_
