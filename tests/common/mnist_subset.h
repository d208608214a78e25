// An MNIST directory holding the first images of EDGEVAE_MNIST_DIR, for the tests that run the CLI
// on MNIST under emulation (EDGEVAE_TEST_EMULATED: qemu-user trains at ~100 images/s and infers at
// a few hundred, so a pass over the 60,000 + 10,000 images takes minutes). The includer defines
// EDGEVAE_MNIST_DIR and EDGEVAE_TEST_FIXTURE_DIR.
#ifndef EDGEVAE_TESTS_COMMON_MNIST_SUBSET_H_
#define EDGEVAE_TESTS_COMMON_MNIST_SUBSET_H_

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>

#include "edgevae/idx.h"
#include "gtest/gtest.h"

namespace edgevae::testutil {

// The first `train` training and `test` test images, with their labels, as the four MNIST IDX
// files in EDGEVAE_TEST_FIXTURE_DIR/mnist-TRAIN-TEST (made by the first test process that asks;
// WriteIdx replaces a file atomically and every process writes the same bytes, so a file of the
// expected size is complete). On failure, a test failure and EDGEVAE_MNIST_DIR itself.
inline std::string MnistSubsetDir(int train, int test) {
  const std::string out = std::string(EDGEVAE_TEST_FIXTURE_DIR) + "/mnist-" +
                          std::to_string(train) + "-" + std::to_string(test);
  std::filesystem::create_directories(out);
  for (const auto& [name, keep, item_bytes, header_bytes] :
       {std::tuple{"train-images-idx3-ubyte", train, 784, 16},
        std::tuple{"train-labels-idx1-ubyte", train, 1, 8},
        std::tuple{"t10k-images-idx3-ubyte", test, 784, 16},
        std::tuple{"t10k-labels-idx1-ubyte", test, 1, 8}}) {
    const std::string path = out + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 &&
        st.st_size == static_cast<off_t>(header_bytes) + static_cast<off_t>(keep) * item_bytes) {
      continue;
    }
    StatusOr<IdxArray> a = ReadIdx(std::string(EDGEVAE_MNIST_DIR) + "/" + name);
    EXPECT_TRUE(a.ok()) << a.status().message();
    if (!a.ok()) return EDGEVAE_MNIST_DIR;
    EXPECT_LE(static_cast<uint32_t>(keep), a->dims[0]) << name;
    const size_t per_item = a->values.size() / a->dims[0];
    a->dims[0] = static_cast<uint32_t>(keep);
    a->values.resize(per_item * keep);
    EXPECT_TRUE(WriteIdx(path, *a).ok()) << path;
  }
  return out;
}

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_MNIST_SUBSET_H_
