// Runs the edgevae CLI as a process for the CLI tests: a temp directory, the child's exit code,
// stdout and stderr, and the checks every CLI error must pass (one line, exit code, empty stdout).
#ifndef EDGEVAE_TESTS_COMMON_CLI_RUNNER_H_
#define EDGEVAE_TESTS_COMMON_CLI_RUNNER_H_

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "gtest/gtest.h"

extern char** environ;

namespace edgevae::cli_runner {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

using edgevae::testutil::TempDir;

struct CliResult {
  int exit_code = -1;  // the exit status, or -signal
  std::string out;
  std::string err;
};

inline int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Runs the CLI with `args`, stdin from /dev/null, stdout and stderr captured in files (so that a
// large output cannot block on a pipe). The environment is this process's without the variables
// that steer terminal output, plus `env`.
inline CliResult RunCli(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env = {}) {
  static const char* const kDropped[] = {"TERM", "COLORTERM", "NO_COLOR", "COLUMNS"};
  TempDir io;
  const std::string out_path = io / "stdout", err_path = io / "stderr";

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    bool drop = env.count(key) > 0;
    for (const char* d : kDropped) drop |= key == d;
    if (!drop) env_strings.push_back(entry);
  }
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);

  std::vector<std::string> argv_strings = {EDGEVAE_CLI_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  CliResult result;
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot run " << argv[0] << ": " << std::strerror(rc);
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return result;
    }
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

inline std::string Describe(const CliResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out.substr(0, 4000) +
         "\n--- stderr:\n" + r.err.substr(0, 4000);
}

// A failure as the CLI promises it: the code, nothing on stdout, one "edgevae: error:" line.
inline void ExpectOneLineError(const CliResult& r, int code) {
  EXPECT_EQ(r.exit_code, code) << Describe(r);
  EXPECT_EQ(r.out, "") << Describe(r);
  EXPECT_EQ(CountLines(r.err), 1) << Describe(r);
  EXPECT_EQ(r.err.rfind("edgevae: error: ", 0), 0u) << Describe(r);
  EXPECT_EQ(r.err.back(), '\n') << Describe(r);
}

}  // namespace edgevae::cli_runner

#endif  // EDGEVAE_TESTS_COMMON_CLI_RUNNER_H_
