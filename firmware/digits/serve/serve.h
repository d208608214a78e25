// `edgevae-digits serve`: the digit demo as a small web page served from the board. The page
// (one self-contained HTML file embedded in the binary) has buttons 0-9, a sample button, sliders
// over the two latent dimensions of the 2-D model, an interpolation animation and, with more
// models loaded (`--family`), their samples side by side; every image is a PNG decoded on the
// device for that request.
//
// Two layers: DigitHandler turns (path, query) into (status, content type, body) with no socket,
// so tests drive it directly; HttpServer puts it behind libmicrohttpd, event-driven, with the
// limits of HttpLimits (docs/reliability-server.md). Uses only the library's public API
// (lib/include/edgevae).
#ifndef EDGEVAE_FIRMWARE_DIGITS_SERVE_SERVE_H_
#define EDGEVAE_FIRMWARE_DIGITS_SERVE_SERVE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/latent.h"
#include "edgevae/status.h"

namespace edgevae::digits {

// What the HTTP layer allows a client, enforced before anything grows with what a client sends.
// docs/reliability-server.md says why each value is what it is and what it was measured against;
// tests (tests/serve) shrink the timeouts to run fast.
struct HttpLimits {
  int max_connections = 512;         // all clients together; more wait in the listen backlog
  int max_connections_per_ip = 32;   // one address's share; more are closed at once
  size_t connection_memory = 16384;  // each connection's fixed pool (libmicrohttpd): request
                                     // line and headers must fit, or 414 / 431 and close
  size_t max_target = 2048;          // bytes of path and query as sent (414 beyond)
  int max_headers = 64;              // header lines in one request (431 beyond)
  int header_deadline_ms = 10000;    // from a connection's start, or its previous answer, to the
                                     // end of the request's headers: then it is closed
  int idle_timeout_s = 5;            // no byte read or written this long: closed
  int http_threads = 2;              // event loops; every connection lives on one of them
};

struct ServeOptions {
  std::string bind = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (the chosen one is printed)
  int threads = 1;                 // the engines' threads (XNNPACK); HTTP threads are separate
  uint64_t seed = 0;               // requests without a seed draw seed, seed + 1, ...
  HttpLimits limits;
};

// Serves until SIGINT/SIGTERM; returns the process exit code: 0 after a signal, 1 when a model
// cannot be served or the address cannot be bound, 2 for bad options. Prints one line with the
// URL on stdout once listening, errors as one line on stderr. `model`: the 20-D model (digits by
// class via metadata.class_latents, samples, interpolation); `model2d`: the 2-D model for the
// sliders and manifold (may be null); `families`: more generative models (a GAN's generator,
// another VAE) whose samples the page shows beside the main model's, at most kMaxFamilies.
inline constexpr int kMaxFamilies = 4;
int Serve(const ServeOptions& options, const AnyModel& model, const AnyModel* model2d,
          const std::vector<const AnyModel*>& families = {});

class DigitHandler;

// DigitHandler over HTTP/1.1 (libmicrohttpd). Serves from Start until destroyed; the destructor
// closes every connection. GET and HEAD only: every other method gets 405 with "Allow: GET,
// HEAD"; request bodies are never read. Range headers are ignored (every image is made for its
// request; a byte range of it has no use). Built only with libmicrohttpd; without it, Start says
// that this build has no web server.
class HttpServer {
 public:
  // Listens on options.bind, options.port (0: a free port, see port()). Errors: bad limits or
  // an address that cannot be bound (InvalidArgument), the library refusing to start.
  static StatusOr<std::unique_ptr<HttpServer>> Start(const ServeOptions& options,
                                                     DigitHandler& handler);
  virtual ~HttpServer() = default;
  virtual int port() const = 0;
};

// What a request gets back.
struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string seed;  // the seed a random image was drawn with (X-Seed header), or empty
};

// Query parameters as parsed (percent-decoded) by the HTTP layer; a name may repeat.
using QueryParams = std::multimap<std::string, std::string>;

// The requests the page makes, all GET, all answered with a PNG unless said otherwise:
//   /                                    the page (text/html)
//   /info                                what the models offer (application/json)
//   /digit?d=D[&seed=S]                  a digit of class D: z drawn from the class's Gaussian
//                                        (mixture) in metadata.class_latents, decoded (28 x 28)
//   /sample[?seed=S][&model=M]           z ~ N(0, I), decoded by the main model (M = 0, the
//                                        default) or by the M-th of `families` (1..)
//   /interpolate?a=A&b=B&t=T[&mode=slerp|lerp][&seed=S]
//                                        between class A and class B at t in [0, 1]: the class
//                                        (mixture) means, or with a seed one draw from each
//   /latent2d?x=X&y=Y                    the 2-D model decoded at z = (x, y), |x|, |y| <= 8
//   /manifold[?grid=N]                   the 2-D model's manifold, N x N digits (2..30, default
//                                        20) at z = Phi^-1((i + 1/2) / N) (AEVB, figure 4)
// A bad or unknown query parameter gets 400 with a one-line message naming it; what the loaded
// models cannot provide (no class statistics, no 2-D model) gets 404 saying so; an unknown path
// 404. Safe to call from many threads: the engines and their buffers sit behind one mutex
// (a decode takes tens of microseconds, so workers hardly wait), and a request allocates only
// its response.
class DigitHandler {
 public:
  static StatusOr<std::unique_ptr<DigitHandler>> Create(
      const ServeOptions& options, const AnyModel& model, const AnyModel* model2d,
      const std::vector<const AnyModel*>& families = {});
  HttpResponse Handle(std::string_view path, const QueryParams& params);

 private:
  DigitHandler() = default;
  HttpResponse Info() const;
  HttpResponse Digit(const QueryParams& params);
  HttpResponse Sample(const QueryParams& params);
  HttpResponse Interpolate(const QueryParams& params);
  HttpResponse Latent2d(const QueryParams& params);
  HttpResponse Manifold(const QueryParams& params);
  // The seed a request asked for, or the next one of the server's sequence.
  uint64_t NextSeed();
  // Under the lock: produce(pixels) -> Status decodes one 28 x 28 image into the scratch pixels
  // (using the scratch latents as it likes); then, outside the lock, it is encoded as a PNG.
  template <typename Produce>
  HttpResponse Render(std::string_view path, Produce produce);

  std::mutex mutex_;  // guards the engines and the buffers below
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Engine> engine2d_;                   // null without a 2-D model
  std::vector<std::unique_ptr<Engine>> families_;      // /sample?model=1.. (decode only)
  std::vector<float> z_, z_a_, z_b_;                   // latent-sized scratch
  std::vector<float> pixels_;                          // the larger engine batch x 784
  std::vector<std::optional<LatentMixture>> classes_;  // by label 0..9
  uint64_t base_seed_ = 0;
  std::atomic<uint64_t> next_seed_{0};
};

}  // namespace edgevae::digits

#endif  // EDGEVAE_FIRMWARE_DIGITS_SERVE_SERVE_H_
