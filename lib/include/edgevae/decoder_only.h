// A deployed VAE's decoder cut out of its int8 file, for a device that only draws (the
// microcontroller's digits program): the same int8 layers, bit for bit, and the class statistics
// that pick a digit, without the encoder's weights (a third of the file). Host tooling
// (edgevae convert --decoder-only).
#ifndef EDGEVAE_DECODER_ONLY_H_
#define EDGEVAE_DECODER_ONLY_H_

#include "edgevae/golden.h"
#include "edgevae/int8_model.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae {

// The decoder of `model` (a VAE's int8 model whose shape has a decoder-only table, NAME-decoder:
// mnist-decoder) with its metadata, less what needs the encoder (an anomaly threshold). Its
// layers share `model`'s storage.
StatusOr<Int8Model> DecoderOnly(const Int8Model& model);

// Golden vectors for a decoder alone, which has no f32 reference: `count` samples (seed 0) of
// its own engine, with the thresholds a file's int8 golden vectors get for another CPU's
// requantization rounding. They check that a platform decodes as this one does.
StatusOr<GoldenVectors> DecoderGoldenVectors(const Int8Model& decoder, int count);

}  // namespace edgevae

#endif  // EDGEVAE_DECODER_ONLY_H_
