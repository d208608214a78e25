#include "ui/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace edgevae::ui {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "--:--";
  const long long s = std::llround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

ProgressState ImagePassProgress(const std::string& phase, int64_t done, int64_t total,
                                double seconds) {
  ProgressState state;
  state.phase = phase;
  state.done = done;
  state.total = total;
  state.loss = std::nan("");
  state.seconds = seconds;
  state.items_per_s = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  return state;
}

std::string FormatProgress(const ProgressState& state, int columns) {
  std::string head;
  if (state.epoch > 0) {
    head = "epoch " + std::to_string(state.epoch);
    if (state.epochs > 0) head += "/" + std::to_string(state.epochs);
    if (state.phase != "train") head += " " + state.phase;
  } else {
    head = state.phase;
  }
  std::string tail = " " + std::to_string(state.done) + "/" + std::to_string(state.total);
  char buf[64];
  if (std::isfinite(state.loss)) {
    std::snprintf(buf, sizeof(buf), "  loss %.2f", state.loss);
    tail += buf;
  }
  if (state.items_per_s > 0 && std::isfinite(state.items_per_s)) {
    std::snprintf(buf, sizeof(buf), "  %.0f img/s", state.items_per_s);
    tail += buf;
  }
  if (state.done > 0 && state.done < state.total && state.seconds > 0) {
    const double eta = state.seconds / static_cast<double>(state.done) *
                       static_cast<double>(state.total - state.done);
    tail += "  ETA " + FormatDuration(eta);
  }

  // The bar: 20 cells when the width is unknown, else what is left, between 10 and 30 cells.
  int cells = 20;
  if (columns > 0) {
    const int room = columns - 1 - static_cast<int>(head.size() + tail.size()) - 3;
    cells = room >= 10 ? std::min(room, 30) : 0;
  }
  std::string line = head;
  if (cells > 0) {
    const double fraction =
        state.total > 0 ? std::clamp(static_cast<double>(state.done) / state.total, 0.0, 1.0) : 0.0;
    const int filled = static_cast<int>(fraction * cells);
    line += " [" + std::string(filled, '#') + std::string(cells - filled, '.') + "]";
  }
  line += tail;
  // A line that wraps cannot be redrawn with "\r": cut it (it is ASCII, so bytes are columns).
  if (columns > 1 && static_cast<int>(line.size()) > columns - 1) line.resize(columns - 1);
  return line;
}

ProgressReporter::ProgressReporter(std::FILE* out, bool live, int columns, double live_interval_s,
                                   double plain_interval_s)
    : out_(out),
      live_(live),
      columns_(columns),
      live_interval_s_(live_interval_s),
      plain_interval_s_(plain_interval_s) {}

ProgressReporter::~ProgressReporter() { Clear(); }

bool ProgressReporter::Update(const ProgressState& state, double now_s) {
  if (out_ == nullptr) return false;
  if (live_) {
    const bool last = state.total > 0 && state.done >= state.total;
    if (!last && now_s - last_draw_s_ < live_interval_s_) return false;
    std::fprintf(out_, "\r%s\x1b[K", FormatProgress(state, columns_).c_str());
    line_shown_ = true;
  } else {
    // The clock starts with the first phase, so that short runs print no progress lines at all.
    if (last_draw_s_ < -1e299) last_draw_s_ = now_s - state.seconds;
    if (now_s - last_draw_s_ < plain_interval_s_) return false;
    std::fprintf(out_, "%s\n", FormatProgress(state, 0).c_str());
  }
  std::fflush(out_);
  last_draw_s_ = now_s;
  return true;
}

void ProgressReporter::Clear() {
  if (!live_ || !line_shown_ || out_ == nullptr) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  line_shown_ = false;
}

}  // namespace edgevae::ui
