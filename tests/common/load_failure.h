// The check every model-file rejection must pass, written once for the loaders' tests: the load
// fails with the expected code, and its message is one line that names the file.
#ifndef EDGEVAE_TESTS_COMMON_LOAD_FAILURE_H_
#define EDGEVAE_TESTS_COMMON_LOAD_FAILURE_H_

#include <string>

#include "common/model_bytes.h"
#include "edgevae/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae::testutil {

// Writes `bytes` to `path`, calls `load(path)` (a StatusOr), and expects that failure; returns
// the status (Ok when the load wrongly succeeded).
template <typename Load>
Status ExpectLoadFails(const std::string& path, const model_bytes::Bytes& bytes, StatusCode code,
                       Load load) {
  EXPECT_TRUE(model_bytes::WriteBytes(path, bytes));
  const auto loaded = load(path);
  EXPECT_FALSE(loaded.ok());
  if (loaded.ok()) return Status::Ok();
  EXPECT_EQ(loaded.status().code(), code) << loaded.status().message();
  EXPECT_THAT(loaded.status().message(), ::testing::HasSubstr(path));
  EXPECT_EQ(loaded.status().message().find('\n'), std::string::npos);  // one line
  return loaded.status();
}

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_LOAD_FAILURE_H_
