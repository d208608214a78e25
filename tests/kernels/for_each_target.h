// Running a test body once per Highway target the library compiled and this CPU supports.
// Include after kernels/targets.h, so that HWY_TARGETS is the library's.
#ifndef EDGEVAE_TESTS_KERNELS_FOR_EACH_TARGET_H_
#define EDGEVAE_TESTS_KERNELS_FOR_EACH_TARGET_H_

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "hwy/targets.h"
#include "kernels/elementwise.h"

namespace edgevae::simd_test {

// hwy::SupportedAndGeneratedTargets(), except under static dispatch (ARM), where it is the one
// compiled target. Highway 1.0.3 detects no NEON at run time on armv7, and Debian's armhf libhwy
// is built without it, so there SupportedTargets() names only scalar targets and the list would
// be empty: a loop over it would test nothing. The build's -mfpu=neon-vfpv4 already requires
// NEON of any CPU the program runs on.
inline std::vector<int64_t> TargetsUnderTest() {
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
#if HWY_COMPILE_ONLY_STATIC
  if (targets.empty()) targets.push_back(HWY_STATIC_TARGET);
#endif
  return targets;
}

// body() once per target of TargetsUnderTest(), with the library's dispatch pointed at it.
template <class Body>
void ForEachTarget(const Body& body) {
  const std::vector<int64_t> targets = TargetsUnderTest();
  ASSERT_FALSE(targets.empty()) << "no Highway target to test";
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    EXPECT_STREQ(simd::TargetName(), hwy::TargetName(target))
        << "dispatch did not follow the target";
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace edgevae::simd_test

#endif  // EDGEVAE_TESTS_KERNELS_FOR_EACH_TARGET_H_
