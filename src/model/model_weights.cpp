#include "model/model_weights.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <set>

#include "base/error.h"
#include "model/checkpoint_layout.h"

namespace cascade {

namespace {

Tensor& destination(ModelWeights& w, const TensorSlot& slot) {
  if (slot.layer < 0) {
    switch (slot.field) {
      case WeightField::Embed:
        return w.embed;
      case WeightField::FinalNorm:
        return w.final_norm;
      case WeightField::LmHead:
        return w.lm_head;
      default:
        break;
    }
  } else {
    LayerWeights& l = w.layers.at(static_cast<size_t>(slot.layer));
    switch (slot.field) {
      case WeightField::InputNorm:
        return l.input_norm;
      case WeightField::Qkv:
        return l.qkv;
      case WeightField::QkvBias:
        return l.qkv_bias;
      case WeightField::QNorm:
        return l.q_norm;
      case WeightField::KNorm:
        return l.k_norm;
      case WeightField::OProj:
        return l.o_proj;
      case WeightField::PostNorm:
        return l.post_norm;
      case WeightField::GateUp:
        return l.gate_up;
      case WeightField::Down:
        return l.down;
      default:
        break;
    }
  }
  throw Error("checkpoint layout: tensor '" + slot.name + "' has no destination");
}

const TensorRecord& checked_record(const SafetensorsModel& checkpoint, const TensorSlot& slot) {
  const TensorRecord& r = checkpoint.get(slot.name);
  check(r.shape == slot.shape, r.file + ": tensor '" + r.name + "' has shape " +
                                   shape_string(r.shape) + ", config.json implies " +
                                   shape_string(slot.shape));
  check(r.dtype == DType::F32 || r.dtype == DType::F16 || r.dtype == DType::BF16,
        r.file + ": tensor '" + r.name + "' has dtype " + std::string(dtype_name(r.dtype)) +
            ", weights must be F32, F16 or BF16");
  return r;
}

// The record's bytes at an address aligned for its dtype. Files written by safetensors are
// aligned, but the format does not promise it; misaligned data is copied into `scratch`.
const void* aligned_data(const TensorRecord& r, std::vector<uint8_t>& scratch) {
  if (reinterpret_cast<uintptr_t>(r.data) % dtype_size(r.dtype) == 0) return r.data;
  scratch.assign(r.data, r.data + r.nbytes);
  return scratch.data();
}

// Rows of several tensors concatenated into one f32 host buffer, then one upload.
Tensor upload_fused(const std::vector<const TensorRecord*>& parts, Backend& backend) {
  Shape shape = parts.front()->shape;
  shape[0] = 0;
  for (const TensorRecord* p : parts) shape[0] += p->shape[0];
  std::vector<float> host(static_cast<size_t>(shape_numel(shape)));
  std::vector<uint8_t> scratch;
  size_t offset = 0;
  for (const TensorRecord* p : parts) {
    const size_t count = static_cast<size_t>(shape_numel(p->shape));
    convert_to_f32(aligned_data(*p, scratch), p->dtype, count, host.data() + offset);
    offset += count;
  }
  return backend.upload(host.data(), DType::F32, shape);
}

// The part of a tensor one rank holds: `count` rows (dim 0) or columns (dim 1) from
// `begin`, and for the embedding a trailing row of zeros.
struct Slice {
  int dim = 0;
  int64_t begin = 0, count = 0;
  bool zero_row = false;
};

// `part` is the slot's place among the parts of its fused tensor (q, k, v; gate, up).
std::optional<Slice> shard_slice(WeightField field, size_t part, const ShardPlan& s,
                                 int64_t head_dim) {
  if (!s.sharded()) return std::nullopt;
  const Slice q_rows{0, s.q_head_begin * head_dim, s.num_q_heads * head_dim};
  const Slice kv_rows{0, s.kv_head_begin * head_dim, s.num_kv_heads * head_dim};
  switch (field) {
    case WeightField::Embed:
      return Slice{0, s.vocab_begin, s.vocab_size, true};
    case WeightField::LmHead:
      return Slice{0, s.vocab_begin, s.vocab_size};
    case WeightField::Qkv:
    case WeightField::QkvBias:
      return part == 0 ? q_rows : kv_rows;
    case WeightField::OProj:
      return Slice{1, q_rows.begin, q_rows.count};
    case WeightField::GateUp:
      return Slice{0, s.inter_begin, s.inter_size};
    case WeightField::Down:
      return Slice{1, s.inter_begin, s.inter_size};
    default:
      return std::nullopt;  // norms: per hidden or head_dim, the same on every rank
  }
}

// `r` cut to `slice`: a view of its rows, or a copy into `storage` for columns or padding.
TensorRecord sliced(const TensorRecord& r, const Slice& slice, std::vector<uint8_t>& storage) {
  TensorRecord out = r;
  const size_t elem = dtype_size(r.dtype);
  const int64_t cols = r.shape.size() > 1 ? r.shape[1] : 1;
  out.shape[static_cast<size_t>(slice.dim)] = slice.count;
  if (slice.zero_row) out.shape[0] += 1;
  out.nbytes = static_cast<size_t>(shape_numel(out.shape)) * elem;
  if (slice.dim == 0 && !slice.zero_row) {
    out.data = r.data + static_cast<size_t>(slice.begin * cols) * elem;
    return out;
  }
  storage.assign(out.nbytes, 0);  // zeros are 0.0 in f32, f16 and bf16
  const int64_t rows = slice.dim == 0 ? slice.count : r.shape[0];
  const int64_t row_begin = slice.dim == 0 ? slice.begin : 0;
  const int64_t col_begin = slice.dim == 1 ? slice.begin : 0;
  const int64_t out_cols = slice.dim == 1 ? slice.count : cols;
  const auto row_bytes = static_cast<size_t>(out_cols) * elem;
  for (int64_t i = 0; i < rows; ++i) {
    std::memcpy(storage.data() + static_cast<size_t>(i) * row_bytes,
                r.data + static_cast<size_t>((row_begin + i) * cols + col_begin) * elem, row_bytes);
  }
  out.data = storage.data();
  return out;
}

// A checkpoint tensor the layout does not name means the config and the weights disagree
// (e.g. more layers, or q_norm in a Qwen2 checkpoint): refused rather than ignored.
void check_no_unexpected_tensors(const ModelConfig& config, const SafetensorsModel& checkpoint,
                                 const std::vector<TensorSlot>& layout) {
  std::set<std::string> expected;
  for (const TensorSlot& s : layout) expected.insert(s.name);
  // transformers ignores a saved lm_head.weight when the embeddings are tied; so do we.
  if (config.tie_word_embeddings) expected.insert("lm_head.weight");
  for (const std::string& name : checkpoint.names()) {
    check(expected.count(name) != 0, checkpoint.get(name).file + ": tensor '" + name +
                                         "' is not part of a " + config.architecture_name +
                                         " with this config.json (" +
                                         std::to_string(config.num_hidden_layers) + " layers)");
  }
}

}  // namespace

ModelWeights load_model_weights(const ModelConfig& config, const SafetensorsModel& checkpoint,
                                Backend& backend) {
  return load_model_weights(config, checkpoint, backend, make_shard_plan(config, 0, 1));
}

ModelWeights load_model_weights(const ModelConfig& config, const SafetensorsModel& checkpoint,
                                Backend& backend, const ShardPlan& shard) {
  const std::vector<TensorSlot> layout = checkpoint_layout(config);
  check_no_unexpected_tensors(config, checkpoint, layout);
  ModelWeights weights;
  weights.layers.resize(static_cast<size_t>(config.num_hidden_layers));
  std::vector<uint8_t> scratch;
  // Consecutive slots with one destination are the parts of a fused tensor.
  for (size_t begin = 0; begin < layout.size();) {
    size_t end = begin + 1;
    while (end < layout.size() && layout[end].field == layout[begin].field &&
           layout[end].layer == layout[begin].layer) {
      ++end;
    }
    std::vector<TensorRecord> records;
    std::vector<std::vector<uint8_t>> storage(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const TensorRecord& whole = checked_record(checkpoint, layout[i]);
      const auto slice = shard_slice(layout[i].field, i - begin, shard, config.head_dim);
      records.push_back(slice ? sliced(whole, *slice, storage[i - begin]) : whole);
    }
    std::vector<const TensorRecord*> parts;
    for (const TensorRecord& r : records) parts.push_back(&r);
    Tensor& dst = destination(weights, layout[begin]);
    if (parts.size() == 1) {
      const TensorRecord& r = *parts.front();
      dst = backend.upload(aligned_data(r, scratch), r.dtype, r.shape);
    } else {
      dst = upload_fused(parts, backend);
    }
    begin = end;
  }
  if (config.tie_word_embeddings) weights.lm_head = weights.embed.rows(0, shard.vocab_size);
  return weights;
}

}  // namespace cascade
