#pragma once
// One Hugging Face .safetensors file: an 8-byte little-endian header length,
// a JSON header naming every tensor (dtype, shape, [begin, end) offsets into
// the data section), then the data. Validated as strictly as GGUF: the
// header is well-formed UTF-8 JSON of bounded size and depth, names are
// unique, every dtype is known, shape x dtype size equals the byte range,
// ranges stay inside the file, and together they cover the data section
// exactly (no overlap, no gap, no trailing bytes).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"
#include "util/mapped_file.h"

namespace ig {

// Every dtype the format defines (so sizes can be checked); only F32, F16 and
// BF16 can be computed with.
enum class StDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };
std::string_view st_dtype_name(StDType t);
std::optional<StDType> st_dtype_from_name(std::string_view name);
uint32_t st_dtype_bytes(StDType t);

// Limits no real checkpoint approaches (headers are a few MB for 100B models).
inline constexpr uint64_t kSafetensorsMaxHeader = uint64_t{100} << 20;
inline constexpr int kSafetensorsMaxDims = 8;

struct SafetensorsTensor {
    std::string name;
    StDType dtype = StDType::F32;
    std::vector<uint64_t> shape;  // row-major: the last dimension is contiguous
    uint64_t n_elements = 0;
    std::span<const uint8_t> data;  // inside the file bytes
};

class SafetensorsFile {
  public:
    // Maps and validates a file; the result owns the mapping.
    static Expected<SafetensorsFile> open(const std::string& path);
    // Validates bytes the caller keeps alive (tests, fuzzing).
    static Expected<SafetensorsFile> parse(std::span<const uint8_t> bytes);

    const std::string& path() const { return path_; }
    // Sorted by name.
    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    const SafetensorsTensor* find(std::string_view name) const;
    // The optional "__metadata__" string map (e.g. {"format": "pt"}).
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    // Null when parsed from caller bytes.
    const std::shared_ptr<const MappedFile>& mapping() const { return file_; }

  private:
    std::shared_ptr<const MappedFile> file_;
    std::string path_;
    std::vector<SafetensorsTensor> tensors_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace ig
