// A DecoderModel from a Hugging Face folder (config.json + safetensors) on one backend: what
// the model tests load before they compare logits.
#pragma once

#include <memory>
#include <string>

#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/safetensors.h"

namespace cascade::test {

inline std::unique_ptr<DecoderModel> load_decoder_model(const std::string& dir, Backend& backend) {
  const ModelConfig config = load_model_config(dir);
  const auto checkpoint = SafetensorsModel::open(dir);
  return std::make_unique<DecoderModel>(config, load_model_weights(config, checkpoint, backend),
                                        backend);
}

}  // namespace cascade::test
