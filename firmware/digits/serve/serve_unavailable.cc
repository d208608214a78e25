// Serve when cpp-httplib was not found at build time (a cross build whose sysroot lacks
// libcpp-httplib-dev): the program still links, and `serve` says why it cannot run.
#include <cstdio>

#include "serve.h"

namespace edgevae::digits {

int Serve(const ServeOptions& options, const AnyModel& model, const AnyModel* model2d) {
  std::fprintf(stderr,
               "edgevae-digits serve: error: this build has no web server (cpp-httplib, Debian's "
               "libcpp-httplib-dev, was not found when it was built)\n");
  return 1;
}

}  // namespace edgevae::digits
