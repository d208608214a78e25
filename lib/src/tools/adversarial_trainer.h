// The adversarial families' trainer (edgevae/train.h's Trainer for a GAN or ALI shape):
// CreateTrainer calls it. Internal to the tools library.
#ifndef EDGEVAE_TOOLS_ADVERSARIAL_TRAINER_H_
#define EDGEVAE_TOOLS_ADVERSARIAL_TRAINER_H_

#include <memory>

#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"
#include "edgevae/train.h"

namespace edgevae {

// `model`'s Adam state must exist (Model::EnsureOptimizer); options checked by CreateTrainer
// except the adversarial ones, checked here.
StatusOr<std::unique_ptr<Trainer>> CreateAdversarialTrainer(Model* model, Runtime* runtime,
                                                            const TrainOptions& options);

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_ADVERSARIAL_TRAINER_H_
