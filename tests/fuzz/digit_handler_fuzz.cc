// Fuzz harness: the web demo's request handler (firmware/digits/serve/serve.h, DigitHandler)
// without sockets, serving the shipped models that edgevae-digits embeds. It takes what the HTTP
// layer hands it: a path and query parameters, percent-decoded.
//
// Input: a request target, "/path?name=value&name=value", optionally after '!' (a handler whose
// model has statistics for digit 3 only and no 2-D model) or '~' (the 2-D model alone, without
// statistics), to reach the 404 answers. The harness splits and decodes the target as
// cpp-httplib 0.11 does (path %XX-decoded; the query split at '&', each item at its first '=',
// names and values %XX-decoded with '+' as a space, items with an empty name dropped), so that
// any bytes, NUL and repeated names included, can reach the handler.
//
// Every answer must be one the handler promises: 200 with a PNG (a page, JSON for /info), or 400 /
// 404 with one printable line naming the problem. A 500 (the engine or the PNG encoder failed on
// a request that passed validation) is a bug.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "edgevae/status.h"
#include "embedded_models.h"
#include "fuzz_util.h"
#include "serve.h"

namespace {

using edgevae::digits::DigitHandler;
using edgevae::digits::HttpResponse;
using edgevae::digits::QueryParams;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
        HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// The handlers the input can address: the demo as shipped (the 20-D model with statistics for
// every digit, and the 2-D model), one whose model has statistics for digit 3 only and no 2-D
// model, and one with the 2-D model alone and no statistics (`serve --model` with other files).
enum class Setup { kShipped, kDigit3Only, kBare };

std::unique_ptr<DigitHandler> MakeHandler(Setup setup) {
  edgevae::StatusOr<edgevae::AnyModel> model = setup == Setup::kBare
                                                   ? edgevae::digits::LoadEmbeddedMnist2d()
                                                   : edgevae::digits::LoadEmbeddedMnist();
  FUZZ_CHECK(model.ok(), "embedded model: %s", model.status().message().c_str());
  edgevae::StatusOr<edgevae::AnyModel> model2d = edgevae::digits::LoadEmbeddedMnist2d();
  FUZZ_CHECK(model2d.ok(), "embedded 2-D model: %s", model2d.status().message().c_str());
  std::vector<edgevae::ClassLatentStats>& stats = model->int8->metadata.class_latents;
  if (setup == Setup::kBare) stats.clear();
  if (setup == Setup::kDigit3Only) {
    std::erase_if(stats, [](const edgevae::ClassLatentStats& c) { return c.label != 3; });
  }
  const edgevae::digits::ServeOptions options;
  edgevae::StatusOr<std::unique_ptr<DigitHandler>> h = DigitHandler::Create(
      options, *model, setup == Setup::kShipped ? &*model2d : nullptr);
  FUZZ_CHECK(h.ok(), "DigitHandler::Create: %s", h.status().message().c_str());
  return std::move(h).value();
}

DigitHandler& Handler(Setup setup) {
  // Made once and kept for the whole process (the engines pack their weights when created).
  static DigitHandler* const handlers[3] = {MakeHandler(Setup::kShipped).release(),
                                            MakeHandler(Setup::kDigit3Only).release(),
                                            MakeHandler(Setup::kBare).release()};
  return *handlers[static_cast<int>(setup)];
}

bool OnePrintableLine(const std::string& body) {
  if (body.empty() || body.back() != '\n') return false;
  for (size_t i = 0; i + 1 < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Handler(Setup::kShipped);  // load the models once, before the first input is timed
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  Setup setup = Setup::kShipped;
  if (!target.empty() && (target[0] == '!' || target[0] == '~')) {
    setup = target[0] == '!' ? Setup::kDigit3Only : Setup::kBare;
    target.remove_prefix(1);
  }
  const size_t question = target.find('?');
  const std::string path = Decode(target.substr(0, question), false);
  QueryParams params;
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (true) {
      const size_t amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      const size_t eq = item.find('=');
      std::string name = Decode(item.substr(0, eq), true);
      if (!name.empty()) {
        params.emplace(std::move(name),
                       eq == std::string_view::npos ? "" : Decode(item.substr(eq + 1), true));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }

  const HttpResponse r = Handler(setup).Handle(path, params);
  switch (r.status) {
    case 200:
      if (path == "/info") {
        FUZZ_CHECK(r.content_type == "application/json" &&
                       !nlohmann::json::parse(r.body, nullptr, false).is_discarded(),
                   "/info: %s", r.body.c_str());
      } else if (path == "/" || path == "/index.html") {
        FUZZ_CHECK(r.content_type.rfind("text/html", 0) == 0, "page as %s",
                   r.content_type.c_str());
      } else {
        FUZZ_CHECK(r.content_type == "image/png" && r.body.size() > 8 &&
                       r.body.compare(0, 4, "\x89PNG") == 0,
                   "%s: 200 with %s, %zu bytes", path.c_str(), r.content_type.c_str(),
                   r.body.size());
      }
      break;
    case 400:
    case 404:
      FUZZ_CHECK(OnePrintableLine(r.body), "%d answer is not one printable line: %s", r.status,
                 r.body.c_str());
      break;
    default:
      FUZZ_CHECK(false, "%s: status %d: %s", path.c_str(), r.status, r.body.c_str());
  }
  return 0;
}
