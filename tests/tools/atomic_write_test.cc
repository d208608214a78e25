// What an atomic write leaves when its process dies, and who may remove it: the temp file names
// its writer's pid, RemoveStaleTempFiles removes it once that process is gone and keeps anything
// a live process holds or that is not exactly such a file of the same target. CheckWritable
// fails as the real write would. ReadWholeFile refuses FIFOs, devices, directories and
// oversized files without reading them (the image folders of `edgevae score`).
#include "edgevae/atomic_write.h"

#include <fcntl.h>
#include <gmock/gmock.h>  // HasSubstr (header-only)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/cli_runner.h"
#include "runtime/file_util.h"

namespace edgevae {
namespace {

using cli_runner::TempDir;
using ::testing::HasSubstr;
using Names = std::vector<std::string>;

Names Sorted(Names v) {
  std::sort(v.begin(), v.end());
  return v;
}

void Touch(const std::string& path, const std::string& bytes = "x") {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The pid of a process that has exited and been reaped.
pid_t DeadPid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

// Sets a file's modification time `seconds` into the past.
void Age(const std::string& path, int seconds) {
  const auto t = std::filesystem::file_time_type::clock::now() - std::chrono::seconds(seconds);
  std::filesystem::last_write_time(path, t);
}

TEST(AtomicWriteTest, AKilledWriterLeavesItsPidInTheNameAndTheNextRunRemovesIt) {
  TempDir dir;
  const std::string path = dir / "m.evae";
  Touch(path, "old");
  // A write killed part way: SIGXFSZ's default action kills the child at a 64 KiB file size
  // limit, inside write(), as SIGKILL would.
  const pid_t pid = ::fork();
  if (pid == 0) {
    rlimit limit{};
    ::setrlimit(RLIMIT_CORE, &limit);  // no core file from the kill
    ::getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = 1 << 16;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const std::vector<uint8_t> bytes(1 << 20, 7);
    (void)io::WriteFileAtomic(path, bytes);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer was not killed";
  const std::vector<std::string> names = Entries(dir.path());
  ASSERT_EQ(names.size(), 2u);
  const std::string prefix = "m.evae.tmp." + std::to_string(pid) + ".";
  EXPECT_EQ(names[1].compare(0, prefix.size(), prefix), 0) << names[1];
  EXPECT_EQ(names[1].size(), prefix.size() + 6) << names[1];
  EXPECT_EQ(std::filesystem::file_size(dir / names[1]), 1u << 16);

  StatusOr<std::vector<std::string>> removed = RemoveStaleTempFiles(path);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, Names{dir / names[1]});
  EXPECT_EQ(Entries(dir.path()), Names{"m.evae"});
  EXPECT_EQ(cli_runner::ReadFile(path), "old");
}

TEST(AtomicWriteTest, TempFilesOfLiveWritersAreKept) {
  TempDir dir;
  const std::string path = dir / "m.evae";
  // A live writer: a child that holds the lock on its temp file, as WriteFileAtomic does.
  int ready[2], done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + ".aB3dE6";
    const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ::flock(fd, LOCK_EX);
    (void)!::write(ready[1], "r", 1);
    char c;
    (void)!::read(done[0], &c, 1);
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const std::string locked = path + ".tmp." + std::to_string(pid) + ".aB3dE6";
  // Even an hour old: the lock says its writer is alive.
  Age(locked, 3600);
  // The same live pid without the lock (a writer between creating the file and locking it).
  const std::string fresh = path + ".tmp." + std::to_string(pid) + ".xYz123";
  Touch(fresh);
  // A dead pid, locked by a live process (the lock is the stronger sign).
  const std::string dead_locked = path + ".tmp." + std::to_string(DeadPid()) + ".lock99";
  Touch(dead_locked);
  const int holder = ::open(dead_locked.c_str(), O_RDONLY);
  ASSERT_EQ(::flock(holder, LOCK_EX), 0);

  StatusOr<std::vector<std::string>> removed = RemoveStaleTempFiles(path);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, Names{});
  EXPECT_TRUE(std::filesystem::exists(locked));
  EXPECT_TRUE(std::filesystem::exists(fresh));
  EXPECT_TRUE(std::filesystem::exists(dead_locked));

  // The writer dies, the lock goes with it; the unlocked file of a live pid goes once it is
  // older than kStaleTempSeconds (the pid must then belong to another process).
  (void)!::write(done[1], "d", 1);
  ::waitpid(pid, nullptr, 0);
  ::close(holder);
  Age(fresh, io::kStaleTempSeconds + 5);
  removed = RemoveStaleTempFiles(path);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(Sorted(*removed), Sorted({dead_locked, locked, fresh}));
  EXPECT_EQ(Entries(dir.path()), Names{});
}

TEST(AtomicWriteTest, OnlyExactlyThisTargetsTempFilesAreRemoved) {
  TempDir dir;
  const std::string path = dir / "m.evae";
  const std::string dead = std::to_string(DeadPid());
  const std::vector<std::string> kept = {
      "m.evae",                           // the target itself
      "m.evae2.tmp." + dead + ".abcdef",  // another target
      "xm.evae.tmp." + dead + ".abcdef",  // another target
      "m.evae.tmp.abcdef",                // the old pattern without a pid: no way to tell
      "m.evae.tmp." + dead + ".abcde",    // five random characters
      "m.evae.tmp." + dead + ".abcdefg",  // seven
      "m.evae.tmp." + dead + ".abc-ef",   // not mkstemp's alphabet
      "m.evae.tmp.0.abcdef",              // pid 0 (kill() would address a process group)
      "m.evae.tmp.-1.abcdef",
      "m.evae.tmp.12345678901.abcdef",   // not a pid
      "m.evae.tmp." + dead + ".link00",  // a symlink
      "m.evae.tmp." + dead + ".fifo00",  // a FIFO
      "m.evae.tmp." + dead + ".dir000",  // a directory
  };
  for (const std::string& name : kept) {
    if (name.find("link00") != std::string::npos) {
      ASSERT_EQ(::symlink("m.evae", (dir / name).c_str()), 0);
    } else if (name.find("fifo00") != std::string::npos) {
      ASSERT_EQ(::mkfifo((dir / name).c_str(), 0600), 0);
    } else if (name.find("dir000") != std::string::npos) {
      ASSERT_EQ(::mkdir((dir / name).c_str(), 0700), 0);
    } else {
      Touch(dir / name);
    }
  }
  const std::string stale = "m.evae.tmp." + dead + ".Zz09aA";
  Touch(dir / stale);
  StatusOr<std::vector<std::string>> removed = RemoveStaleTempFiles(path);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, Names{dir / stale});
  std::vector<std::string> want = kept;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Entries(dir.path()), want);

  // A path without a folder works in the current directory and reports names as given.
  const std::string cwd = std::filesystem::current_path();
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  Touch(stale);
  removed = RemoveStaleTempFiles("m.evae");
  ASSERT_EQ(::chdir(cwd.c_str()), 0);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, Names{stale});
  // A missing folder has nothing to remove.
  removed = RemoveStaleTempFiles(dir / "no/such/m.evae");
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, Names{});
}

TEST(AtomicWriteTest, CheckWritableFailsAsTheWriteWouldAndLeavesNothing) {
  TempDir dir;
  EXPECT_TRUE(CheckWritable(dir / "m.evae", 3 << 20).ok());
  EXPECT_EQ(Entries(dir.path()), Names{});

  const Status missing = CheckWritable(dir / "no/such/m.evae", 1);
  EXPECT_EQ(missing.code(), StatusCode::kIoError);
  EXPECT_THAT(missing.message(), HasSubstr(dir / "no/such"));
  EXPECT_THAT(missing.message(), HasSubstr("No such file or directory"));

  // Past a file size limit (SIGXFSZ ignored: write returns EFBIG), the trial write fails.
  EXPECT_EXIT(
      {
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit limit{};
        getrlimit(RLIMIT_FSIZE, &limit);
        limit.rlim_cur = 1 << 20;
        setrlimit(RLIMIT_FSIZE, &limit);
        const bool small_ok = CheckWritable(dir / "small.evae", 1000).ok();
        const Status s = CheckWritable(dir / "m.evae", 2 << 20);
        std::fprintf(stderr, "%s\n", s.message().c_str());
        std::_Exit(small_ok && s.code() == StatusCode::kIoError ? 0 : 1);
      },
      ::testing::ExitedWithCode(0),
      "trial write of 2097152 bytes .* at offset 1048576: File too large");
  EXPECT_EQ(Entries(dir.path()), Names{});
}

TEST(ReadWholeFileTest, RefusesWhatIsNotARegularFileWithoutReadingIt) {
  TempDir dir;
  Touch(dir / "ok", "hello");
  ASSERT_EQ(::symlink((dir / "ok").c_str(), (dir / "link").c_str()), 0);
  ASSERT_EQ(::symlink("/dev/zero", (dir / "zero").c_str()), 0);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);  // no writer: opening would block
  ASSERT_EQ(::mkdir((dir / "sub").c_str(), 0700), 0);
  { std::ofstream big(dir / "big", std::ios::binary); }
  std::filesystem::resize_file(dir / "big", 100 << 20);  // sparse: no disk used

  StatusOr<io::FileBytes> file = io::ReadWholeFile(dir / "ok", 5, "a file");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(std::string(file->bytes.begin(), file->bytes.end()), "hello");
  file = io::ReadWholeFile(dir / "link", 5, "a file");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->bytes.size(), 5u);

  const auto refused = [&](const std::string& name, uint64_t max) {
    const StatusOr<io::FileBytes> r = io::ReadWholeFile(dir / name, max, "a file");
    EXPECT_FALSE(r.ok()) << name;
    if (r.ok()) return std::string();
    EXPECT_THAT(r.status().message(), HasSubstr(dir / name)) << name;
    return r.status().message();
  };
  EXPECT_THAT(refused("zero", 1 << 20), HasSubstr("a symlink to a character device"));
  EXPECT_THAT(refused("fifo", 1 << 20), HasSubstr("a named pipe (FIFO)"));
  EXPECT_THAT(refused("sub", 1 << 20), HasSubstr("a directory"));
  EXPECT_THAT(refused("big", 64 << 20), HasSubstr("104857600 bytes, over the limit of 67108864"));
  EXPECT_THAT(refused("ok", 4), HasSubstr("5 bytes, over the limit of 4"));
  EXPECT_THAT(refused("missing", 4), HasSubstr("No such file or directory"));
}

}  // namespace
}  // namespace edgevae
