// Tensor: a typed, shaped, contiguous row-major block of memory on one backend.
// Copies share the storage (like a view); allocation is explicit through a Backend.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"

namespace cascade {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_string(const Shape& shape);  // "[2, 3]"

struct Tensor {
  std::shared_ptr<void> storage;  // keeps the memory alive; null for borrowed views
  void* data = nullptr;
  DType dtype = DType::F32;
  Shape shape;

  int64_t numel() const { return shape_numel(shape); }
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape.size()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool defined() const { return data != nullptr; }

  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }

  // Same memory, another shape with the same number of elements.
  Tensor reshaped(Shape new_shape) const;
  // Rows [begin, end) of the leading dimension, sharing memory.
  Tensor rows(int64_t begin, int64_t end) const;
};

// Borrowed view of memory the caller keeps alive.
Tensor borrow(void* data, DType dtype, Shape shape);

}  // namespace cascade
