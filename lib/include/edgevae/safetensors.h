// Import and export of the canonical PyTorch VAE example's state_dict in the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
// of JSON mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end)} (offsets
// relative to the byte buffer that follows the header) plus an optional "__metadata__" object of
// strings, then the buffer: little-endian, row-major tensor data.
//
// The ten tensors are PyTorch's state_dict names and layouts: fc1, fc21, fc22, fc3, fc4, each
// .weight [out, in] and .bias [out], all F32. This is how `edgevae convert` moves models between
// PyTorch and edgevae.
#ifndef EDGEVAE_SAFETENSORS_H_
#define EDGEVAE_SAFETENSORS_H_

#include <string>

#include "edgevae/model.h"
#include "edgevae/status.h"

namespace edgevae {

// Reads a safetensors file holding exactly the ten tensors. The shape comes from fc1.weight
// [hidden, input] and fc21.weight [latent, hidden] and must be compiled in (the error lists those
// that are). Rejects, each with one line naming the path and what was expected and found: a header
// length larger than the file, a header that is not a JSON object, a tensor entry without dtype /
// shape / data_offsets, a dtype other than F32, offsets reversed, beyond the buffer, overlapping
// or leaving bytes of the buffer uncovered, a byte length other than product(shape) * 4, a missing,
// unknown or duplicated tensor, a shape inconsistent with the others, a non-finite value (naming
// the tensor and the index). Metadata: dataset "mnist"; epochs from "__metadata__" "epochs" (a
// decimal string) if present, else 0.
StatusOr<Model> ImportSafetensors(const std::string& path);

// Writes the model's ten tensors as F32 in the layout PyTorch's safetensors library produces
// (names sorted, data in that order, header padded with spaces to a multiple of 8), with
// "__metadata__" {"format": "pt", "dataset", "epochs"}; the Adam state, if any, is not written.
// The write is atomic (io::WriteFileAtomic): a failure leaves an existing file untouched.
Status ExportSafetensors(const std::string& path, const Model& model);

}  // namespace edgevae

#endif  // EDGEVAE_SAFETENSORS_H_
