// Inputs that once made the scoring programs misbehave: edgevae-anomalyd replaying a regular
// file forever, a score folder holding a symlink to /dev/zero or a FIFO, a sender pausing in the
// middle of a frame on `score --input -`, labels above 9, and numeric flags out of range. Every
// program runs under a watchdog, so that a regression fails instead of hanging the suite.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/cli_runner.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace cli_runner;  // NOLINT
using nlohmann::json;

const std::string kMnist = EDGEVAE_MNIST_DIR;
// Generous: under qemu a program starts slowly; a hang is what the watchdog is for.
constexpr double kWatchdogSeconds = 120;

std::string Frames(int n) {
  const std::string all = ReadFile(kMnist + "/t10k-images-idx3-ubyte");
  return all.substr(16, static_cast<size_t>(n) * 784);
}

// Any model scores; an untrained one saves a minute of training under emulation.
std::string SaveModelIn(const TempDir& dir) {
  StatusOr<Model> model = Model::Create(MnistShape::kInfo);
  EXPECT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  const std::string path = dir / "m.evae";
  EXPECT_TRUE(SaveModel(path, *model).ok());
  return path;
}

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line, nullptr, false));
  return out;
}

// A program running with stdin from `stdin_fd` (closed here) and stdout/stderr in files.
struct Child {
  pid_t pid = -1;
  TempDir io;
  std::string out() const { return ReadFile(io / "out"); }
  std::string err() const { return ReadFile(io / "err"); }
};

void Start(Child* c, const std::vector<std::string>& argv_s, int stdin_fd) {
  std::vector<std::string> args = argv_s;
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
  posix_spawn_file_actions_addopen(&fa, 1, (c->io / "out").c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (c->io / "err").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(posix_spawn(&c->pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(stdin_fd);
}

// The exit code, or -1 after killing a child that ran past the watchdog.
int Wait(const Child& c) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(kWatchdogSeconds);
  int status = 0;
  while (::waitpid(c.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &status, 0);
      ADD_FAILURE() << "still running after " << kWatchdogSeconds << " s; killed";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int DevNull() { return ::open("/dev/null", O_RDONLY); }

// Waits until `read()` contains `text`; false after the watchdog's time.
template <typename Read>
bool WaitFor(Read read, const std::string& text) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(kWatchdogSeconds);
  while (read().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(AnomalydInputTest, ARegularFileIsReadOnceAndEnds) {
  TempDir dir;
  const std::string model = SaveModelIn(dir);
  std::ofstream(dir / "ten.raw", std::ios::binary) << Frames(10);
  Child c;
  Start(&c, {EDGEVAE_ANOMALYD_PATH, "--model", model, "--input", dir / "ten.raw"}, DevNull());
  ASSERT_EQ(Wait(c), 0) << c.err();
  const auto lines = JsonLines(c.out());
  ASSERT_EQ(lines.size(), 10u) << c.out().substr(0, 2000);
  EXPECT_EQ(lines[9]["frame"], 9);
  EXPECT_EQ(json::parse(c.err())["frames"], 10);
}

TEST(AnomalydInputTest, NumericFlagsOutOfRangeAreUsageErrors) {
  TempDir dir;
  const std::string model = SaveModelIn(dir);
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--seed", "-1"},
                                             {"--seed", "18446744073709551616"},
                                             {"--threads", "65"},
                                             {"--threads", "0"},
                                             {"--batch", "4097"},
                                             {"--idle-timeout-ms", "-1"}}) {
    std::vector<std::string> args = {EDGEVAE_ANOMALYD_PATH, "--model", model};
    args.insert(args.end(), bad.begin(), bad.end());
    Child c;
    Start(&c, args, DevNull());
    EXPECT_EQ(Wait(c), 2) << bad[0] << " " << bad[1] << ": " << c.err();
    EXPECT_EQ(CountLines(c.err()), 1) << c.err();
    EXPECT_THAT(c.err(), HasSubstr(bad[0])) << c.err();
  }
  // The largest seed is a seed; the stream (empty) ends at once.
  Child c;
  Start(&c, {EDGEVAE_ANOMALYD_PATH, "--model", model, "--seed", "18446744073709551615"}, DevNull());
  EXPECT_EQ(Wait(c), 0) << c.err();
}

TEST(ScoreInputTest, AFolderIsReadForRegularFilesOnly) {
  TempDir dir;
  const std::string model = SaveModelIn(dir);
  const std::string folder = dir / "images";
  ASSERT_EQ(::mkdir(folder.c_str(), 0755), 0);
  std::ofstream(folder + "/a.pgm", std::ios::binary) << "P5 28 28 255\n" << Frames(1);
  ASSERT_EQ(::symlink("a.pgm", (folder + "/b.pgm").c_str()), 0);         // to a regular file: read
  ASSERT_EQ(::symlink("/dev/zero", (folder + "/zero.pgm").c_str()), 0);  // never ends
  ASSERT_EQ(::mkfifo((folder + "/pipe.png").c_str(), 0644), 0);          // no writer: blocks
  ASSERT_EQ(::mkdir((folder + "/dir.png").c_str(), 0755), 0);
  { std::ofstream big(folder + "/huge.pgm", std::ios::binary); }
  std::filesystem::resize_file(folder + "/huge.pgm", 100 << 20);  // sparse, over the cap
  Child c;
  Start(
      &c,
      {EDGEVAE_CLI_PATH, "score", "--model", model, "--input", folder, "--method", "bce", "--json"},
      DevNull());
  EXPECT_EQ(Wait(c), 1) << c.err();
  const auto lines = JsonLines(c.out());
  ASSERT_EQ(lines.size(), 3u) << c.out();
  EXPECT_EQ(lines[0]["file"], folder + "/a.pgm");
  EXPECT_EQ(lines[1]["file"], folder + "/b.pgm");
  EXPECT_EQ(lines[0]["score"], lines[1]["score"]);
  EXPECT_EQ(lines[2]["summary"]["images"], 2);
  EXPECT_EQ(lines[2]["summary"]["failed"], 4);
  // One line per refused file, naming it and what it is.
  const std::string err = c.err();
  EXPECT_EQ(CountLines(err), 4) << err;
  EXPECT_THAT(err, HasSubstr(folder + "/zero.pgm: a symlink to a character device"));
  EXPECT_THAT(err, HasSubstr(folder + "/pipe.png: a named pipe (FIFO)"));
  EXPECT_THAT(err, HasSubstr(folder + "/dir.png: is a directory"));
  EXPECT_THAT(err, HasSubstr(folder + "/huge.pgm: 104857600 bytes, over the limit of"));
}

TEST(ScoreInputTest, APauseMidFrameOnStdinDropsThatFrameAndTheStreamRealigns) {
  TempDir dir;
  const std::string model = SaveModelIn(dir);
  const std::string frames = Frames(3);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);  // the child must not hold the write end open
  Child c;
  Start(&c,
        {EDGEVAE_CLI_PATH, "score", "--model", model, "--input", "-", "--method", "bce", "--json",
         "--idle-timeout-ms", "100"},
        fds[0]);
  // Frame 0, then 100 bytes and a pause: the sender stalls mid-frame. Each step waits for the
  // program's answer, so the pause falls where it reads, however slowly it started.
  (void)!::write(fds[1], frames.data(), 784);
  ASSERT_TRUE(WaitFor([&] { return c.out(); }, "\"index\":0")) << c.err();
  (void)!::write(fds[1], frames.data() + 784, 100);
  ASSERT_TRUE(WaitFor([&] { return c.err(); }, "is malformed")) << c.err();
  // Then two whole frames: each must be scored as itself, not shifted by 100 bytes.
  (void)!::write(fds[1], frames.data() + 784, 2 * 784);
  ::close(fds[1]);
  EXPECT_EQ(Wait(c), 1) << c.err();  // a frame failed
  EXPECT_EQ(c.err(),
            "edgevae: error: stdin: frame 1 is malformed: 100 bytes, expected 784, then no byte "
            "for 100 ms (--idle-timeout-ms); dropped, the next byte starts frame 2\n");
  const auto got = JsonLines(c.out());
  ASSERT_EQ(got.size(), 4u) << c.out();
  EXPECT_EQ(got[1]["index"], 2);
  EXPECT_EQ(got[2]["index"], 3);
  EXPECT_EQ(got[3]["summary"]["images"], 3);
  EXPECT_EQ(got[3]["summary"]["failed"], 1);

  // The same three frames sent without a pause score the same (bce: z = mu, no noise).
  std::ofstream(dir / "three.raw", std::ios::binary) << frames;
  Child whole;
  Start(&whole,
        {EDGEVAE_CLI_PATH, "score", "--model", model, "--input", "-", "--method", "bce", "--json"},
        ::open((dir / "three.raw").c_str(), O_RDONLY));
  ASSERT_EQ(Wait(whole), 0) << whole.err();
  const auto want = JsonLines(whole.out());
  ASSERT_EQ(want.size(), 4u);
  EXPECT_EQ(got[0]["score"], want[0]["score"]);
  EXPECT_EQ(got[1]["score"], want[1]["score"]);
  EXPECT_EQ(got[2]["score"], want[2]["score"]);
}

TEST(ScoreInputTest, LabelsAboveNineAreRefusedNamingFileAndIndex) {
  TempDir dir;
  const std::string model = SaveModelIn(dir);
  std::string idx = std::string("\0\0\x08\x03\0\0\0\x04\0\0\0\x1c\0\0\0\x1c", 16) + Frames(4);
  std::ofstream(dir / "images", std::ios::binary) << idx;
  std::ofstream(dir / "labels", std::ios::binary)
      << std::string("\0\0\x08\x01\0\0\0\x04\x01\x07\x0c\x03", 12);
  const CliResult r =
      RunCli({"score", "--model", model, "--input", dir / "images", "--labels", dir / "labels"});
  ExpectOneLineError(r, 1);
  EXPECT_THAT(r.err, HasSubstr(dir / "labels" + ": label 12 at index 2 is not a digit 0-9"));
  // calibrate reads labels the same way.
  const CliResult cal = RunCli({"calibrate", "--model", model, "--data", dir / "images", "--labels",
                                dir / "labels", "--out", dir / "cal.evae"});
  ExpectOneLineError(cal, 1);
  EXPECT_THAT(cal.err, HasSubstr("label 12 at index 2"));
  EXPECT_FALSE(Exists(dir / "cal.evae"));
}

}  // namespace
}  // namespace edgevae
