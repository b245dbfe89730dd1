#include "base/tensor.h"

#include "base/error.h"

namespace cascade {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor Tensor::reshaped(Shape new_shape) const {
  check(shape_numel(new_shape) == numel(),
        [&] { return "cannot reshape " + shape_string(shape) + " to " + shape_string(new_shape); });
  Tensor t = *this;
  t.shape = std::move(new_shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  check(rank() >= 1 && 0 <= begin && begin <= end && end <= shape[0], [&] {
    return "row range [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside " +
           shape_string(shape);
  });
  Tensor t = *this;
  const int64_t row_elems = shape[0] ? numel() / shape[0] : 0;
  t.data = static_cast<char*>(data) + static_cast<size_t>(begin * row_elems) * dtype_size(dtype);
  t.shape[0] = end - begin;
  return t;
}

Tensor borrow(void* data, DType dtype, Shape shape) {
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

}  // namespace cascade
