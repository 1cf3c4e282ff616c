#pragma once
// Read-only memory map of a whole file. Model weights are used in place.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "util/expected.h"

namespace ig {

class MappedFile {
  public:
    static Expected<MappedFile> open(const std::string& path);

    MappedFile() = default;
    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    const std::string& path() const { return path_; }
    // Gives back this process's copies of the whole pages inside [p, p + n)
    // (a range of this mapping): data read once and kept elsewhere (repacked
    // weights) stops counting twice. Reading it again reloads it from the file.
    void drop_pages(const void* p, size_t n) const;

  private:
    void release();
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    std::string path_;
};

}  // namespace ig
