// The container of docs/model-format.md, over a byte span: locating the header, the tensor table,
// the metadata and every tensor with their bounds, overlap and checksum checks, and writing a
// file of tensors and metadata. Knows nothing of models: model_file.cc (reading) and
// tools/model_writer.cc (writing) give it meaning. Internal to the libraries.
#ifndef EDGEVAE_RUNTIME_CONTAINER_H_
#define EDGEVAE_RUNTIME_CONTAINER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgevae/model_file.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"

namespace edgevae {

// A located file: what inspection reports, and where its table and metadata are.
struct Container {
  std::span<const uint8_t> bytes;  // the whole file
  ModelFileInfo info;
  uint64_t table_offset = 0;
  uint64_t metadata_offset = 0;
  // The metadata text in `bytes`. info.metadata_json stays empty: loading parses the view in
  // place (a microcontroller has no RAM for a copy); InspectModelFile copies it for `info`.
  std::string_view metadata;
};

// Checks what must hold before anything in `bytes` can be located: size, magic, version, header
// size, declared file size, and that the table, the metadata and every tensor lie inside the
// file. Computes the checksum but does not judge it (CheckChecksum). `path` names the bytes in
// messages.
StatusOr<Container> LocateContainer(std::span<const uint8_t> bytes, const std::string& path);
// The regions of the file must not overlap (a writer bug or a crafted file otherwise).
Status CheckNoOverlap(const std::string& path, const Container& f);
Status CheckChecksum(const std::string& path, const ModelFileInfo& info);
// The header's sizes must be compiled in, and its name must be this build's name for them.
StatusOr<ShapeInfo> CheckShape(const std::string& path, const ModelFileInfo& info);
// The table entry named `name`, or null.
const ModelFileInfo::Tensor* FindTensor(const ModelFileInfo& info, std::string_view name);

// A tensor to write: `count` elements of `dtype` at `src` (in memory's byte order).
struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<uint32_t> dims;
  const void* src;
  uint64_t count;
  uint64_t offset = 0;  // assigned by WriteContainer
};
// [rows] for a bias (cols == 0), [rows, cols] for a weight.
std::vector<uint32_t> Dims(int rows, int cols);
// Writes header, table, `metadata` and the tensors (each at the next 64-byte boundary) to `path`
// atomically (io::WriteFileAtomic).
Status WriteContainer(const std::string& path, const ShapeInfo& shape, std::vector<OutTensor> outs,
                      const std::string& metadata);

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_CONTAINER_H_
