// A progress line for long runs (training, evaluation). Pure formatting is separated from the
// terminal output so that tests can call it with fixed inputs.
#ifndef EDGEVAE_TOOLS_UI_PROGRESS_H_
#define EDGEVAE_TOOLS_UI_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace edgevae::ui {

// "0:07", "12:34", "1:02:03"; "--:--" for a negative or non-finite number of seconds.
std::string FormatDuration(double seconds);

// What a progress line shows.
struct ProgressState {
  std::string phase = "train";  // "train" or "test"
  int epoch = 0;                // 1-based
  int epochs = 0;               // the epoch the run stops at; 0 if not applicable
  int64_t done = 0;             // units (batches or images) finished in this phase
  int64_t total = 0;
  double loss = 0;         // running loss, NaN to omit it
  double items_per_s = 0;  // images per second, 0 to omit it
  double seconds = 0;      // elapsed in this phase; the ETA is extrapolated from it
};

// A pass over images that reports no loss (evaluation, an epoch's test pass): `done` of `total`
// images after `seconds`, the rate derived from them.
ProgressState ImagePassProgress(const std::string& phase, int64_t done, int64_t total,
                                double seconds);

// One line without a newline or carriage return, e.g.
//   "epoch 3/10 [##########..........] 234/469  loss 112.41  10523 img/s  ETA 0:12"
// With columns > 0 the bar is sized so that the line fits (the bar is dropped when it cannot).
std::string FormatProgress(const ProgressState& state, int columns);

// Draws progress on a stream. Live mode (a terminal) redraws one line in place with "\r" and
// erase-to-end-of-line, at most once per `live_interval_s`; otherwise a plain line is written at
// most once per `plain_interval_s`. The last unit of a phase is always drawn in live mode.
// Times are passed in by the caller (seconds from any fixed origin) so that the throttle is
// testable.
class ProgressReporter {
 public:
  ProgressReporter(std::FILE* out, bool live, int columns = 0, double live_interval_s = 0.1,
                   double plain_interval_s = 10.0);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Draws `state` if the throttle allows; returns whether it drew.
  bool Update(const ProgressState& state, double now_s);
  // Erases a live line (so that the next output starts in column 0); a no-op otherwise.
  void Clear();

 private:
  std::FILE* out_;
  bool live_;
  int columns_;
  double live_interval_s_;
  double plain_interval_s_;
  double last_draw_s_ = -1e300;
  bool line_shown_ = false;
};

}  // namespace edgevae::ui

#endif  // EDGEVAE_TOOLS_UI_PROGRESS_H_
