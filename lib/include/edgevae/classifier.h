// A classifier's forward pass (the classifier family of edgevae/shape.h) on the host: class
// probabilities and the features of its last hidden layer, through XNNPACK with the weights
// packed once. The project's sample-quality judge (edgevae/judge.h) is one; it trains with the
// same trainer as the VAEs (edgevae/train.h).
#ifndef EDGEVAE_CLASSIFIER_H_
#define EDGEVAE_CLASSIFIER_H_

#include <cstddef>
#include <memory>

#include "edgevae/idx.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"

namespace edgevae {

class Classifier {
 public:
  // `model` (a classifier's shape, finite parameters) is copied in packed form; `runtime` must
  // outlive the classifier.
  static StatusOr<std::unique_ptr<Classifier>> Create(const Model& model, Runtime* runtime,
                                                      int max_batch = 256);
  virtual ~Classifier() = default;

  virtual const ShapeInfo& shape() const = 0;
  int classes() const { return shape().latent; }
  // The width of the last hidden layer, whose activations Run returns as features.
  int features() const { return shape().layers[shape().layers.size() - 2].out; }

  // For n rows of input floats in [0, 1] (any n, run in batches): the softmax probabilities
  // (n x classes) and, if `features` is not null, the last hidden layer's activations
  // (n x features()).
  virtual Status Run(const float* x, size_t n, float* probs, float* features) = 0;
  // The same for images as bytes (grey / 255).
  Status RunImages(const ImageSet& images, float* probs, float* features);
};

struct ClassifierScore {
  double loss = 0;      // mean cross-entropy, nats per image
  double accuracy = 0;  // share of images whose most probable class is their label
  int images = 0;
};
// The classifier on labelled images.
StatusOr<ClassifierScore> ScoreClassifier(Classifier& classifier, const ImageSet& images);

}  // namespace edgevae

#endif  // EDGEVAE_CLASSIFIER_H_
