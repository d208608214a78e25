// edgevae train must never lose work to a crash or a full disk. The kill test runs the CLI under
// ptrace and sends SIGKILL at 24 points of a fixed schedule: while the start-up trial write
// exists, part way through an epoch's training, after its test pass, and at four moments of a
// checkpoint write (the temp file just created, half of it written, complete but not renamed,
// renamed). Every point is a syscall stop, so none depends on timing: the checkpoint points are
// exact, and a mid-epoch kill comes at the first progress line (stderr is a pseudo-terminal, so
// the CLI draws one about every 0.1 s, and always the last of a phase) that shows a given
// fraction of the epoch done; the table the test prints says which step that was. On a quiet
// machine an epoch here takes 0.2 s and draws three lines (say 1, 65 and 125 of 125), so no
// line may fall between 60 % and the end: then the kill comes at the epoch's last training line
// (all batches trained, not yet tested or saved), which tests the same thing.
// After each kill: the checkpoint on disk loads and holds the expected epoch, the only temp file
// left is the killed process's own, and the next run removes it (and says so). Resuming after
// all 24 kills ends with bit for bit the weights and Adam state of an uninterrupted run.
// Then a full disk, a read-only output folder and divergence: each fails with one line that says
// so, before any training where that can be known, and leaves the last good checkpoint intact.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/cli_runner.h"
#include "edgevae/idx.h"
#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "gtest/gtest.h"

#if defined(__aarch64__)
#include <elf.h>  // NT_PRSTATUS
#endif

namespace edgevae {
namespace {

using namespace cli_runner;  // NOLINT

const std::string kMnist = EDGEVAE_MNIST_DIR;
#ifdef EDGEVAE_TEST_EMULATED
constexpr int kTrainImages = 400;  // qemu-user trains at ~100 images/s
constexpr int kTestImages = 100;
#else
constexpr int kTrainImages = 4000;
constexpr int kTestImages = 500;
#endif
constexpr int kEpochs = 8;

// The first `train` training and `test` test images of MNIST, as an MNIST directory.
void WriteMnistSubset(const std::string& dir, int train, int test) {
  const struct {
    const char* name;
    int count;
  } files[] = {{"train-images-idx3-ubyte", train},
               {"train-labels-idx1-ubyte", train},
               {"t10k-images-idx3-ubyte", test},
               {"t10k-labels-idx1-ubyte", test}};
  for (const auto& f : files) {
    StatusOr<IdxArray> a = ReadIdx(kMnist + "/" + f.name);
    ASSERT_TRUE(a.ok()) << a.status().message() << " (MNIST in " << kMnist << "?)";
    size_t per = 1;
    for (size_t d = 1; d < a->dims.size(); ++d) per *= a->dims[d];
    a->dims[0] = static_cast<uint32_t>(f.count);
    a->values.resize(per * f.count);
    ASSERT_TRUE(WriteIdx(dir + "/" + f.name, *a).ok());
  }
}

// The names in `dir` that start with `prefix`, sorted.
std::vector<std::string> Names(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

// Weights, Adam moments and step of two models, compared bit for bit.
void ExpectSameTraining(const Model& a, const Model& b) {
  ASSERT_EQ(a.param_floats(), b.param_floats());
  EXPECT_EQ(std::memcmp(a.params(), b.params(), a.param_floats() * sizeof(float)), 0)
      << "weights differ";
  ASSERT_TRUE(a.has_optimizer() && b.has_optimizer());
  EXPECT_EQ(
      std::memcmp(a.optimizer().m.data(), b.optimizer().m.data(), a.param_floats() * sizeof(float)),
      0)
      << "Adam m differs";
  EXPECT_EQ(
      std::memcmp(a.optimizer().v.data(), b.optimizer().v.data(), a.param_floats() * sizeof(float)),
      0)
      << "Adam v differs";
  EXPECT_EQ(a.optimizer().step, b.optimizer().step);
  EXPECT_EQ(a.metadata().epochs, b.metadata().epochs);
  EXPECT_EQ(a.metadata().train_loss, b.metadata().train_loss);
  EXPECT_EQ(a.metadata().test_loss, b.metadata().test_loss);
}

// --- A child under ptrace, killed at a point of its syscalls -------------------------------------

enum class Stage {
  kProbe,         // the start-up trial write's temp file was just created
  kMidEpoch,      // the run's `checkpoint`-th epoch: `fraction` of its batches trained
  kTested,        // ... trained and tested (its test pass's last progress line), not yet saved
  kTempCreated,   // checkpoint `checkpoint` of this run: its temp file was just created
  kPartialWrite,  // ... half of its bytes written (the write is cut short, then killed)
  kBeforeRename,  // ... written and fsynced, about to be renamed over --out
  kAfterRename,   // ... renamed over --out, the directory not yet synced
};

const char* StageName(Stage s) {
  switch (s) {
    case Stage::kProbe:
      return "start-up trial write";
    case Stage::kMidEpoch:
      return "mid-epoch, training";
    case Stage::kTested:
      return "tested, not yet saved";
    case Stage::kTempCreated:
      return "checkpoint temp created";
    case Stage::kPartialWrite:
      return "checkpoint half written";
    case Stage::kBeforeRename:
      return "checkpoint before rename";
    case Stage::kAfterRename:
      return "checkpoint after rename";
  }
  return "?";
}

// `checkpoint` counts this run's checkpoint writes (and so its epochs) from 1.
struct KillPoint {
  Stage stage;
  int checkpoint = 1;
  double fraction = 0;
};

struct Outcome {
  bool killed = false;  // by our SIGKILL
  int exit_code = -1;   // if it exited
  pid_t pid = 0;
  std::string err, out;
  std::string progress;  // the progress line a mid-epoch kill came at, e.g. "48/125"
};

// A live progress line, "\repoch 3/8 [####......] 48/125  loss ..." or "epoch 3/8 test [...]
// 200/500 ...": its epoch, phase and counts. False for anything else.
bool ParseProgress(const std::string& text, int* epoch, bool* test, int* done, int* total) {
  const size_t at = text.find("epoch ");
  if (at == std::string::npos) return false;
  const size_t bar = text.find("] ", at);
  const size_t space = text.find(' ', at + 6);
  if (bar == std::string::npos || space == std::string::npos) return false;
  int epochs = 0;
  if (std::sscanf(text.c_str() + at, "epoch %d/%d", epoch, &epochs) != 2) return false;
  *test = text.compare(space, 6, " test ") == 0;
  return std::sscanf(text.c_str() + bar + 2, "%d/%d", done, total) == 2;
}

// Up to `n` bytes at `address` in process `pid`.
std::string ReadMemory(pid_t pid, uint64_t address, size_t n) {
  std::string buf(std::min<size_t>(n, 4096), '\0');
  iovec local{buf.data(), buf.size()};
  iovec remote{reinterpret_cast<void*>(address), buf.size()};
  const ssize_t got = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return buf;
}

// Appends what the pseudo-terminal holds to *text (never blocks).
void Drain(int master, std::string* text) {
  char buf[4096];
  ssize_t n;
  while ((n = ::read(master, buf, sizeof(buf))) > 0) text->append(buf, static_cast<size_t>(n));
}

#if defined(__x86_64__) || defined(__aarch64__)
constexpr bool kCanCutWrites = true;
#else
constexpr bool kCanCutWrites = false;
#endif

// Sets the third argument (a write's count) of the syscall the tracee stopped at on entry.
void SetThirdSyscallArgument(pid_t pid, uint64_t value) {
#if defined(__x86_64__)
  user_regs_struct regs{};
  ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
  regs.rdx = value;
  ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
#elif defined(__aarch64__)
  user_regs_struct regs{};
  iovec io{&regs, sizeof(regs)};
  ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io);
  regs.regs[2] = value;
  ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &io);
#else
  (void)pid;
  (void)value;
#endif
}

bool IsOpen(long nr) {
#ifdef SYS_open
  if (nr == SYS_open) return true;
#endif
  return nr == SYS_openat;
}
int OpenFlags(long nr, const uint64_t* args) {
#ifdef SYS_open
  if (nr == SYS_open) return static_cast<int>(args[1]);
#endif
  (void)nr;
  return static_cast<int>(args[2]);
}
bool IsRename(long nr) {
#ifdef SYS_rename
  if (nr == SYS_rename) return true;
#endif
#ifdef SYS_renameat
  if (nr == SYS_renameat) return true;
#endif
#ifdef SYS_renameat2
  if (nr == SYS_renameat2) return true;
#endif
  return false;
}
// Runs the CLI with `args` under ptrace, stderr on a pseudo-terminal, and kills it at `point`.
// `temp_marker` is the part of a temp file's path that identifies it ("/m.evae.tmp.").
Outcome RunTraced(const std::vector<std::string>& args, const KillPoint& kill_point,
                  const std::string& temp_marker, const TempDir& io) {
  const KillPoint* point = &kill_point;
  const std::string out_path = io / "stdout";
  int master = -1, slave = -1;
  winsize size{};
  size.ws_col = 200;  // wide enough for the bar
  size.ws_row = 24;
  if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) {
    ADD_FAILURE() << "openpty: " << std::strerror(errno);
    return {};
  }
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  std::vector<std::string> argv_s = {EDGEVAE_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  Outcome r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(slave, 2);
    ::close(master);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(slave);
  r.pid = pid;
  int status = 0;
  ::waitpid(pid, &status, 0);  // stopped by the exec
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);

  long nr = -1;  // the syscall of the last entry stop
  uint64_t entry_args[6] = {};
  int temp_fd = -1, temps = 0, renames = 0;
  int first_epoch = 0;  // the first epoch this run trains (a resumed run starts later)
  bool cut = false;
  int deliver = 0;
  const auto kill_now = [&] {
    ::kill(pid, SIGKILL);
    r.killed = true;
  };
  while (!r.killed) {
    ::ptrace(PTRACE_SYSCALL, pid, nullptr, deliver);
    deliver = 0;
    if (::waitpid(pid, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status)) break;
    Drain(master, &r.err);  // a full terminal buffer would block the child
    if (!WIFSTOPPED(status)) continue;
    if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {  // a signal for the tracee: pass it on
      deliver = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
      continue;
    }
    __ptrace_syscall_info info{};
    if (::ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) <= 0) continue;
    const int checkpoint = temps - 1;  // the checkpoint write under way (the 1st temp is the trial)
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
      nr = static_cast<long>(info.entry.nr);
      std::copy(info.entry.args, info.entry.args + 6, entry_args);
      if (nr == SYS_write && static_cast<int>(entry_args[0]) == temp_fd && checkpoint >= 1 &&
          point->stage == Stage::kPartialWrite && point->checkpoint == checkpoint) {
        if (!cut && kCanCutWrites) {
          SetThirdSyscallArgument(pid, entry_args[2] / 2);  // this write stops half way
          cut = true;
        } else {
          kill_now();
        }
      }
      if (IsRename(nr) && point->stage == Stage::kBeforeRename &&
          point->checkpoint == renames + 1) {
        kill_now();
      }
      int epoch = 0, done = 0, total = 0;
      bool test = false;
      if (nr == SYS_write && entry_args[0] == 2 &&
          (point->stage == Stage::kMidEpoch || point->stage == Stage::kTested) &&
          ParseProgress(ReadMemory(pid, entry_args[1], entry_args[2]), &epoch, &test, &done,
                        &total)) {
        if (first_epoch == 0) first_epoch = epoch;
        const bool at = point->stage == Stage::kTested
                            ? test && done == total
                            : !test && done >= point->fraction * total;
        if (epoch == first_epoch + point->checkpoint - 1 && at) {
          r.progress = std::to_string(done) + "/" + std::to_string(total);
          kill_now();  // before this line is even shown
        }
      }
      continue;
    }
    if (info.op != PTRACE_SYSCALL_INFO_EXIT) continue;
    const long rval = static_cast<long>(info.exit.rval);
    if (IsOpen(nr) && (OpenFlags(nr, entry_args) & O_CREAT) != 0 && rval >= 0) {
      char link[4096];
      const std::string fd_path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(rval);
      const ssize_t n = ::readlink(fd_path.c_str(), link, sizeof(link) - 1);
      if (n > 0 && std::string(link, n).find(temp_marker) != std::string::npos) {
        temp_fd = static_cast<int>(rval);
        ++temps;
        if ((temps == 1 && point->stage == Stage::kProbe) ||
            (temps > 1 && point->stage == Stage::kTempCreated && point->checkpoint == temps - 1)) {
          kill_now();
        }
      }
    } else if (IsRename(nr) && rval == 0) {
      ++renames;
      if (point->stage == Stage::kAfterRename && point->checkpoint == renames) kill_now();
    }
  }
  while (!WIFEXITED(status) && !WIFSIGNALED(status)) {
    if (::waitpid(pid, &status, 0) < 0) break;
  }
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    r.killed = false;  // it ended before the kill point
  } else {
    r.killed = r.killed && WTERMSIG(status) == SIGKILL;
  }
  r.out = ReadFile(out_path);
  Drain(master, &r.err);
  ::close(master);
  return r;
}

// False where this process may not trace its children (a container's seccomp policy, Yama
// ptrace_scope 3).
bool CanTraceChildren() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) ::_exit(1);
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSTOPPED(status)) {
    ::ptrace(PTRACE_DETACH, pid, nullptr, 0);
    ::kill(pid, SIGCONT);
    ::waitpid(pid, &status, 0);
    return true;
  }
  return false;
}

TEST(TrainCrashTest, TwentyFourKillsLeaveALoadableCheckpointAndResumeBitForBit) {
#ifdef EDGEVAE_TEST_EMULATED
  GTEST_SKIP() << "ptrace of a program under qemu-user traces qemu, not the program";
#endif
  if (!CanTraceChildren()) GTEST_SKIP() << "this process may not ptrace its children";
  TempDir dir;
  WriteMnistSubset(dir.path(), kTrainImages, kTestImages);
  const std::vector<std::string> fresh = {
      "train",   "--data", dir.path(),    "--epochs", std::to_string(kEpochs),
      "--batch", "32",     "--seed",      "5",        "--threads",
      "1",       "--out",  dir / "m.evae"};
  const std::vector<std::string> resume = {
      "train",        "--data",    dir.path(), "--epochs", std::to_string(kEpochs), "--resume",
      dir / "m.evae", "--threads", "1",        "--out",    dir / "m.evae"};

  // The uninterrupted run.
  std::vector<std::string> reference = fresh;
  reference.back() = dir / "ref.evae";
  const CliResult ref = RunCli(reference);
  ASSERT_EQ(ref.exit_code, 0) << Describe(ref);
  StatusOr<Model> want = LoadModel(dir / "ref.evae");
  ASSERT_TRUE(want.ok()) << want.status().message();
  const int64_t checkpoint_bytes = FileSize(dir / "ref.evae");

  using S = Stage;
  // Epochs on disk after each kill in the comments; every other kill leaves it as it was.
  const std::vector<KillPoint> schedule = {
      {S::kProbe},           {S::kMidEpoch, 1, 0.3}, {S::kTempCreated, 1},  {S::kPartialWrite, 1},
      {S::kBeforeRename, 1}, {S::kTested, 1},        {S::kAfterRename, 1},  // 1
      {S::kProbe},           {S::kMidEpoch, 1, 0.6}, {S::kTempCreated, 1},  {S::kPartialWrite, 1},
      {S::kBeforeRename, 1}, {S::kMidEpoch, 2, 0.3},  // 2
      {S::kTempCreated, 2},                           // 3
      {S::kPartialWrite, 2},                          // 4
      {S::kBeforeRename, 2},                          // 5
      {S::kAfterRename, 1},                           // 6
      {S::kTested, 1},       {S::kTempCreated, 1},   {S::kPartialWrite, 1}, {S::kBeforeRename, 1},
      {S::kProbe},           {S::kAfterRename, 1},  // 7
      {S::kPartialWrite, 1}};
  ASSERT_EQ(schedule.size(), 24u);

  int epoch_on_disk = 0;
  std::string left_behind;  // the temp file the last kill left, which the next run must remove
  std::printf("%-3s %-26s %-3s %-8s %-5s %s\n", "#", "kill point", "run", "at", "epoch",
              "temp file left (bytes)");
  for (size_t k = 0; k < schedule.size(); ++k) {
    const KillPoint& p = schedule[k];
    const bool have = Exists(dir / "m.evae");
    TempDir io;
    const Outcome o = RunTraced(have ? resume : fresh, p, "/m.evae.tmp.", io);
    const std::string label = "kill " + std::to_string(k + 1) + " (" + StageName(p.stage) +
                              ", checkpoint " + std::to_string(p.checkpoint) + ")";
    ASSERT_TRUE(o.killed) << label << ": the run was not killed, exit " << o.exit_code
                          << "\n--- stderr:\n"
                          << o.err;
    if (!left_behind.empty()) {
      EXPECT_NE(o.err.find("removed " + left_behind), std::string::npos)
          << label << ": the next run did not report removing " << left_behind << "\n"
          << o.err;
      EXPECT_FALSE(Exists(left_behind)) << label;
    }

    // The checkpoint on disk loads and holds what the kill point says: one more epoch for each
    // checkpoint this run renamed over --out before it was killed.
    epoch_on_disk += p.stage == S::kAfterRename ? p.checkpoint
                     : p.stage == S::kProbe     ? 0
                                                : p.checkpoint - 1;
    if (epoch_on_disk == 0) {
      EXPECT_FALSE(Exists(dir / "m.evae")) << label;
    } else {
      StatusOr<Model> m = LoadModel(dir / "m.evae");
      ASSERT_TRUE(m.ok()) << label << ": " << m.status().message();
      EXPECT_EQ(m->metadata().epochs, epoch_on_disk) << label;
    }

    // Temp files: only the killed process's own, and only where the kill point leaves one.
    const std::vector<std::string> temps = Names(dir.path(), "m.evae.tmp.");
    const bool leaves_one = p.stage == S::kProbe || p.stage == S::kTempCreated ||
                            p.stage == S::kPartialWrite || p.stage == S::kBeforeRename;
    ASSERT_EQ(temps.size(), leaves_one ? 1u : 0u) << label;
    left_behind.clear();
    std::string left_text = "-";
    if (leaves_one) {
      const std::string mine = "m.evae.tmp." + std::to_string(o.pid) + ".";
      EXPECT_EQ(temps[0].compare(0, mine.size(), mine), 0) << label << ": " << temps[0];
      left_behind = dir / temps[0];
      const int64_t size = FileSize(left_behind);
      left_text = temps[0].substr(0, 11) + "<pid>." + temps[0].substr(mine.size()) + " (" +
                  std::to_string(size) + ")";
      if (p.stage == S::kTempCreated || p.stage == S::kProbe) {
        EXPECT_EQ(size, 0) << label;
      }
      if (p.stage == S::kBeforeRename) {
        EXPECT_GE(size, checkpoint_bytes - 4096) << label;
      }
      if (p.stage == S::kPartialWrite && kCanCutWrites) {
        EXPECT_GT(size, 0) << label;
        EXPECT_LT(size, checkpoint_bytes / 2 + 4096) << label;
      }
    }
    std::printf("%-3zu %-26s %-3d %-8s %-5d %s\n", k + 1, StageName(p.stage), p.checkpoint,
                o.progress.empty() ? "-" : o.progress.c_str(), epoch_on_disk, left_text.c_str());
    std::fflush(stdout);
  }

  // The run after the last kill finishes the remaining epochs and cleans up.
  const CliResult last = RunCli(resume);
  ASSERT_EQ(last.exit_code, 0) << Describe(last);
  if (!left_behind.empty()) {
    EXPECT_NE(last.err.find("removed " + left_behind), std::string::npos) << last.err;
  }
  EXPECT_EQ(Names(dir.path(), "m.evae.tmp."), std::vector<std::string>{});
  StatusOr<Model> got = LoadModel(dir / "m.evae");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->metadata().epochs, kEpochs);
  ExpectSameTraining(*got, *want);
}

// --- A full disk, a read-only folder, divergence -------------------------------------------------

// Trains one epoch into dir/m.evae (the last good checkpoint of the tests below).
void TrainOneEpoch(const TempDir& dir) {
  WriteMnistSubset(dir.path(), kTrainImages, kTestImages);
  const CliResult r = RunCli({"train", "--data", dir.path(), "--epochs", "1", "--batch", "32",
                              "--threads", "1", "--out", dir / "m.evae"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
}

// Runs the CLI in a child with `setup` applied first; stdout and stderr captured.
template <typename Setup>
CliResult RunWith(const std::vector<std::string>& args, Setup setup) {
  TempDir io;
  const std::string out_path = io / "stdout", err_path = io / "stderr";
  std::vector<std::string> argv_s = {EDGEVAE_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!setup()) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

TEST(TrainSafetyTest, FullDiskFailsBeforeTrainingAndKeepsTheCheckpoint) {
  TempDir dir;
  TrainOneEpoch(dir);
  const std::string before = ReadFile(dir / "m.evae");
  // A 1 MiB file size limit: every write past it fails with EFBIG (SIGXFSZ ignored, as the CLI
  // itself does), as a write to a full disk fails with ENOSPC.
  const CliResult r = RunWith({"train", "--data", dir.path(), "--epochs", "3", "--resume",
                               dir / "m.evae", "--threads", "1", "--out", dir / "m.evae"},
                              [] {
                                std::signal(SIGXFSZ, SIG_IGN);
                                rlimit limit{};
                                ::getrlimit(RLIMIT_FSIZE, &limit);
                                limit.rlim_cur = 1 << 20;
                                return ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
                              });
  ExpectOneLineError(r, 1);
  EXPECT_NE(r.err.find("cannot write checkpoints to --out " + dir / "m.evae" +
                       " (checked before training)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(dir / "m.evae"), before);
  EXPECT_EQ(Names(dir.path(), "m.evae.tmp."), std::vector<std::string>{});
}

TEST(TrainSafetyTest, ReadOnlyOutputFolderFailsBeforeTraining) {
  TempDir dir;
  TrainOneEpoch(dir);
  const std::string out_dir = dir / "out";
  ASSERT_EQ(::mkdir(out_dir.c_str(), 0755), 0);
  const std::string before = ReadFile(dir / "m.evae");
  ASSERT_EQ(::link((dir / "m.evae").c_str(), (out_dir + "/m.evae").c_str()), 0);
  // Root writes into a folder without write permission, so for root the folder is made
  // read-only the way a Pi's SD card becomes so: a read-only (bind) mount, in a mount namespace
  // of the child's own. Where that is not allowed, root gives up its privileges instead.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(out_dir.c_str(), 0555), 0);
  const CliResult r =
      RunWith({"train", "--data", dir.path(), "--epochs", "3", "--resume", out_dir + "/m.evae",
               "--threads", "1", "--out", out_dir + "/m.evae"},
              [&] {
                if (::geteuid() != 0) return true;
                if (::unshare(CLONE_NEWNS) == 0 &&
                    ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                    ::mount(out_dir.c_str(), out_dir.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
                    ::mount(nullptr, out_dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY,
                            nullptr) == 0) {
                  return true;
                }
                return ::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 && ::setuid(65534) == 0;
              });
  ExpectOneLineError(r, 1);
  EXPECT_NE(r.err.find("cannot write checkpoints to --out " + out_dir + "/m.evae" +
                       " (checked before training)"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.err.find("Read-only file system") != std::string::npos ||
              r.err.find("Permission denied") != std::string::npos)
      << r.err;
  ::chmod(out_dir.c_str(), 0755);
  EXPECT_EQ(ReadFile(out_dir + "/m.evae"), before);
  EXPECT_EQ(Names(out_dir, "m.evae.tmp."), std::vector<std::string>{});
}

// `r` without the progress lines `edgevae train` prints on stderr in plain mode, one every 10 s
// ("epoch 2/3 [####....] 1/1  loss 277.95  17 img/s"): a step of these runs takes that long
// under qemu on a loaded machine, and the error must still be one line after them.
CliResult WithoutProgress(CliResult r) {
  std::string kept;
  for (size_t start = 0; start < r.err.size();) {
    const size_t end = std::min(r.err.find('\n', start), r.err.size());
    const std::string line = r.err.substr(start, end - start);
    const bool progress = line.rfind("epoch ", 0) == 0 && line.find(" [") != std::string::npos &&
                          end < r.err.size();
    if (!progress) kept += r.err.substr(start, end + 1 - start);
    start = end + 1;
  }
  r.err = kept;
  return r;
}

TEST(TrainSafetyTest, DivergenceNamesEpochAndStepAndKeepsTheLastCheckpoint) {
  TempDir dir;
  TrainOneEpoch(dir);
  const std::string before = ReadFile(dir / "m.evae");
  // --lr 1e6: the loss turns NaN a step after the first update.
  const CliResult r =
      WithoutProgress(RunCli({"train", "--data", dir.path(), "--epochs", "3", "--resume",
                              dir / "m.evae", "--lr", "1e6", "--threads", "1", "--out",
                              dir / "m.evae"}));
  ExpectOneLineError(r, 1);
  EXPECT_NE(r.err.find("training diverged: loss is"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at epoch 2, step 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir / "m.evae" + " keeps epoch 1, the last good checkpoint"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(ReadFile(dir / "m.evae"), before);
  ASSERT_TRUE(LoadModel(dir / "m.evae").ok());

  // One step per epoch (a batch larger than the data) and --lr 1e39: Adam's update overflows
  // the weights to infinity with a finite loss and gradient. The test pass finds it (and
  // SaveModel would refuse such a file); the run stops naming the epoch.
  const CliResult inf = WithoutProgress(
      RunCli({"train", "--data", dir.path(), "--epochs", "3", "--resume", dir / "m.evae", "--lr",
              "1e39", "--batch", "4096", "--threads", "1", "--out", dir / "other.evae"}));
  ExpectOneLineError(inf, 1);
  EXPECT_NE(inf.err.find("epoch 2: evaluation gave a non-finite test loss"), std::string::npos)
      << inf.err;
  EXPECT_NE(
      inf.err.find("no epoch finished in this run, so " + dir / "other.evae" + " was not written"),
      std::string::npos)
      << inf.err;
  EXPECT_FALSE(Exists(dir / "other.evae"));
  EXPECT_EQ(ReadFile(dir / "m.evae"), before);
}

}  // namespace
}  // namespace edgevae
