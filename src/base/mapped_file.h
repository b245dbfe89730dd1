// A read-only memory mapping of a whole file (safetensors shards are mapped, not read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cascade {

class MappedFile {
 public:
  // Throws Error naming `path` when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole text file; throws Error naming `path` when it is missing or unreadable.
std::string read_text_file(const std::string& path);

}  // namespace cascade
