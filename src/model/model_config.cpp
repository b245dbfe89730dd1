#include "model/model_config.h"

#include "base/error.h"

namespace cascade {

ModelConfig load_model_config(const std::string& model_dir) {
  throw Error(model_dir + ": config loading not implemented yet");
}

ModelConfig parse_model_config(const std::string&, const std::string& source) {
  throw Error(source + ": config parsing not implemented yet");
}

}  // namespace cascade
