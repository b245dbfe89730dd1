// Fuzzes the safetensors parser (8-byte length, JSON header, data offsets) on whole files.
#include <span>

#include "fuzz_input.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  fuzz::expect_only_errors([&] {
    const std::span<const uint8_t> bytes(data, size);
    for (const TensorRecord& r : parse_safetensors(bytes, "fuzz.safetensors")) {
      // Every accepted tensor lies inside the input and its bytes match dtype x shape.
      fuzz::require(r.data >= data && r.nbytes <= size &&
                    static_cast<size_t>(r.data - data) <= size - r.nbytes);
      size_t numel = 1;
      for (const int64_t d : r.shape) numel *= static_cast<size_t>(d);
      fuzz::require(numel * dtype_size(r.dtype) == r.nbytes);
    }
  });
  return 0;
}
