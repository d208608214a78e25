// Serve when libmicrohttpd was not found at build time (a cross build whose sysroot lacks
// libmicrohttpd-dev): the program still links, and `serve` says why it cannot run.
#include <cstdio>

#include "serve.h"

namespace edgevae::digits {
namespace {

constexpr char kNoServer[] =
    "this build has no web server (libmicrohttpd, Debian's libmicrohttpd-dev, was not found when "
    "it was built)";

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ServeOptions& options,
                                                        DigitHandler& handler) {
  return Unsupported(std::string("serve: ") + kNoServer);
}

int Serve(const ServeOptions& options, const AnyModel& model, const AnyModel* model2d,
          const std::vector<const AnyModel*>& families) {
  std::fprintf(stderr, "edgevae-digits serve: error: %s\n", kNoServer);
  return 1;
}

}  // namespace edgevae::digits
