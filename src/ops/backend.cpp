// Backend's defaults for what only some backends do: sampling one step ahead.
#include "ops/backend.h"

#include "base/error.h"

namespace cascade {
namespace {

[[noreturn]] void cannot_sample_ahead(const Backend& backend, const char* what) {
  throw Error(std::string(what) + ": the " + backend.name() +
              " backend cannot sample ahead (can_sample_ahead() is false)");
}

}  // namespace

void Backend::sample_ahead(const Tensor& /*logits*/, int64_t /*usable_vocab*/,
                           const SampleRows& /*rows*/) {
  cannot_sample_ahead(*this, "sample_ahead");
}

void Backend::finish_sample(std::span<int32_t> /*out*/) {
  cannot_sample_ahead(*this, "finish_sample");
}

void Backend::substitute_sampled_ids(std::span<const int32_t> host_ids, Tensor& /*ids*/) {
  for (int32_t id : host_ids) {
    if (id < 0) cannot_sample_ahead(*this, "substitute_sampled_ids");
  }
}

}  // namespace cascade
