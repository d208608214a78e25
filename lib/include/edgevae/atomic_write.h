// Every file the library writes (models, checkpoints, PNG, IDX, safetensors) is replaced
// atomically: a temp file "<path>.tmp.<pid>.<6 random characters>" beside it, fsync, rename.
// A process killed between the temp file's creation and the rename leaves that file behind.
// These two calls are for programs that write the same output for a long time (training): clean
// up after a killed predecessor, and find out at start, not hours later, that the output cannot
// be written.
#ifndef EDGEVAE_ATOMIC_WRITE_H_
#define EDGEVAE_ATOMIC_WRITE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/status.h"

namespace edgevae {

// Removes the temp files that atomic writes of `path` left when their process died, and returns
// their paths. Only names of exactly that form for this target, only regular files, and only
// when no live process is writing them: the writer holds an flock() on its temp file from
// creation until after the rename (the kernel releases it when the process dies), and the pid in
// the name must not be a running process (unless the file has not changed for a minute: the pid
// was reused). A missing folder is not an error.
StatusOr<std::vector<std::string>> RemoveStaleTempFiles(const std::string& path);

// Creates the temp file an atomic write of `path` would create, writes `bytes` zero bytes, syncs
// it and removes it: fails as that write would (a missing or read-only folder, no permission, a
// full disk, EFBIG under a file size limit when SIGXFSZ is ignored), with the OS's reason.
Status CheckWritable(const std::string& path, uint64_t bytes);

}  // namespace edgevae

#endif  // EDGEVAE_ATOMIC_WRITE_H_
