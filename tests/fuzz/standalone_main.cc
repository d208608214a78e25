// main() for the fuzz harnesses outside the fuzz preset (like LLVM's StandaloneFuzzTargetMain):
// runs LLVMFuzzerTestOneInput once on every file named on the command line, or on every file of
// a folder named there (sorted by name; dotfiles such as .gitkeep are skipped). This is how the
// seed corpora and the regression inputs (each a crash, leak or hang that fuzzing once found)
// run in every build under ctest, the sanitizer and cross (qemu) builds included, and how the
// coverage build replays a corpus. A missing file or folder is an error, so that a renamed folder
// cannot turn the test into one that runs nothing; so is a folder that cannot be listed (a 32-bit
// program without large-file support gets EOVERFLOW from readdir on a 64-bit host's file system,
// under qemu: CMakeLists.txt builds this file with _FILE_OFFSET_BITS=64).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool ReadFile(const std::string& path, std::vector<uint8_t>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  out->clear();
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->insert(out->end(), buf, buf + n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

// The files to run for one argument; false if it names nothing.
bool Expand(const std::string& arg, std::vector<std::string>* files) {
  struct stat st;
  if (::stat(arg.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) {
    files->push_back(arg);
    return true;
  }
  DIR* d = ::opendir(arg.c_str());
  if (d == nullptr) return false;
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    if (e->d_name[0] == '.') continue;
    const std::string path = arg + "/" + e->d_name;
    if (::stat(path.c_str(), &st) != 0) return false;
    if (S_ISREG(st.st_mode)) names.push_back(path);
  }
  const int err = errno;  // readdir's error, if it ended with one
  ::closedir(d);
  if (err != 0) {
    errno = err;
    return false;
  }
  std::sort(names.begin(), names.end());
  files->insert(files->end(), names.begin(), names.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;  // libFuzzer flags (-runs=..., ...) mean nothing here
    if (!Expand(argv[i], &files)) {
      std::fprintf(stderr, "%s: cannot read %s: %s\n", argv[0], argv[i], std::strerror(errno));
      return 1;
    }
  }
  std::vector<uint8_t> bytes;
  for (const std::string& file : files) {
    if (!ReadFile(file, &bytes)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], file.c_str());
      return 1;
    }
    std::fprintf(stderr, "Running: %s (%zu bytes)\n", file.c_str(), bytes.size());
    // An exactly sized heap copy, so that AddressSanitizer sees a read past the input's end.
    std::vector<uint8_t> input(bytes);
    LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
  }
  std::fprintf(stderr, "%s: ran %zu inputs\n", argv[0], files.size());
  return 0;
}
