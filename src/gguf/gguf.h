#pragma once
// GGUF v2/v3 container: metadata key/values and tensor infos over a
// memory-mapped file. Everything is validated on open; accessors never
// read outside the mapping.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensor/dtype.h"
#include "util/expected.h"
#include "util/mapped_file.h"
#include "util/progress.h"

namespace ig {

enum class GgufType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
std::string_view gguf_type_name(GgufType t);

// Limits the reader enforces (and the writer respects).
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxDims = 4;
inline constexpr uint32_t kGgufMaxDepth = 8;  // array nesting levels in one value

struct GgufValue;

struct GgufArray {
    GgufType elem_type = GgufType::U8;
    std::vector<GgufValue> items;
};

struct GgufValue {
    GgufType type = GgufType::U8;
    // Integers of any width are stored widened (unsigned in u, signed in i),
    // floats in f; `type` keeps the exact on-disk type for round trips.
    std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;

    static GgufValue u8(uint8_t x) { return {GgufType::U8, uint64_t{x}}; }
    static GgufValue i8(int8_t x) { return {GgufType::I8, int64_t{x}}; }
    static GgufValue u16(uint16_t x) { return {GgufType::U16, uint64_t{x}}; }
    static GgufValue i16(int16_t x) { return {GgufType::I16, int64_t{x}}; }
    static GgufValue u32(uint32_t x) { return {GgufType::U32, uint64_t{x}}; }
    static GgufValue u64(uint64_t x) { return {GgufType::U64, x}; }
    static GgufValue i32(int32_t x) { return {GgufType::I32, int64_t{x}}; }
    static GgufValue i64(int64_t x) { return {GgufType::I64, x}; }
    static GgufValue f32(float x) { return {GgufType::F32, double{x}}; }
    static GgufValue f64(double x) { return {GgufType::F64, x}; }
    static GgufValue boolean(bool x) { return {GgufType::BOOL, x}; }
    static GgufValue str(std::string s) { return {GgufType::STRING, std::move(s)}; }
    static GgufValue array(GgufType elem, std::vector<GgufValue> items) {
        return {GgufType::ARRAY, GgufArray{elem, std::move(items)}};
    }
};

// Short human-readable form for logs and `infergrid inspect`: "42", "1e-05",
// "\"llama\"" (escaped, long strings cut), "[1, 2]", or for arrays longer
// than max_items "[\"<unk>\", \"<s>\", ...] (array of 512 string)".
std::string gguf_value_to_string(const GgufValue& v, size_t max_items = 8);

struct GgufKV {
    std::string key;
    GgufValue value;
};

struct GgufTensorInfo {
    std::string name;
    std::vector<uint64_t> shape;  // GGUF order: shape[0] is the contiguous (row) dimension
    DType type = DType::F32;
    uint64_t offset = 0;  // relative to the data section
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // inside the file bytes, n_bytes long
};

class GgufFile {
  public:
    // Maps and parses a file; the result owns the mapping.
    static Expected<GgufFile> open(const std::string& path);
    // Parses bytes the caller keeps alive (tests, fuzzing).
    static Expected<GgufFile> parse(std::span<const uint8_t> bytes);
    // A GGUF view of weights that live elsewhere (a Hugging Face folder's
    // safetensors mappings, buffers made at load): each tensor's data points
    // into one of `maps` or `owned`, which the result keeps alive. Checked as
    // a parsed file is (names, shapes, byte sizes, duplicates); n_elements
    // and n_bytes are computed here. `path` names the source (a directory).
    static Expected<GgufFile> assemble(std::vector<GgufKV> kv, std::vector<GgufTensorInfo> tensors,
                                       std::vector<std::shared_ptr<const MappedFile>> maps,
                                       std::vector<std::shared_ptr<const void>> owned,
                                       std::string path);

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return bytes_.size(); }
    const std::string& path() const { return path_; }

    const std::vector<GgufKV>& metadata() const { return kv_; }
    const GgufValue* find(std::string_view key) const;

    // Typed look-ups; nullopt when absent or of an incompatible type. Integer
    // look-ups accept any integer type whose value fits.
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;  // f32/f64 or integer
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::string_view> get_string(std::string_view key) const;
    const GgufArray* get_array(std::string_view key) const;

    // MappedFile::drop_pages on a range of tensor data; nothing for parsed bytes.
    void drop_pages(const void* p, size_t n) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(std::string_view name) const;

  private:
    static Expected<GgufFile> parse_impl(std::span<const uint8_t> bytes);

    // Indices into kv_ / tensors_ sorted by name, for binary-search look-ups
    // (indices rather than views so that copies of a GgufFile stay valid).
    std::vector<uint32_t> kv_index_;
    std::vector<uint32_t> tensor_index_;

    std::shared_ptr<MappedFile> file_;  // null when parsed from caller bytes
    // An assembled view's sources (see assemble).
    std::vector<std::shared_ptr<const MappedFile>> maps_;
    std::vector<std::shared_ptr<const void>> owned_;
    std::span<const uint8_t> bytes_;
    std::string path_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    std::vector<GgufKV> kv_;
    std::vector<GgufTensorInfo> tensors_;
};

// Streams a GGUF v3 file: metadata and tensor infos first, then each tensor's
// data produced on demand by its fill callback, so a multi-GB model never has
// to be in memory at once.
class GgufWriter {
  public:
    using FillFn = std::function<void(uint8_t* dst, uint64_t n_bytes)>;

    // Replaces an existing key. Setting "general.alignment" (u32) chooses the
    // alignment when write() is called with the default 32.
    void set(std::string key, GgufValue value);
    // Shape in GGUF order (shape[0] contiguous). fill writes exactly the bytes
    // of the tensor (row_bytes(type, shape[0]) * rows).
    Status add_tensor(std::string name, std::vector<uint64_t> shape, DType type, FillFn fill);
    // Writes path + ".tmp", then renames it over path. An alignment other
    // than 32 is recorded as general.alignment.
    Status write(const std::string& path, uint32_t alignment = kGgufDefaultAlignment,
                 const ProgressFn& progress = {}) const;

  private:
    struct PendingTensor {
        std::string name;
        std::vector<uint64_t> shape;
        DType type;
        uint64_t n_bytes;
        FillFn fill;
    };
    std::vector<GgufKV> kv_;
    std::vector<PendingTensor> tensors_;
};

}  // namespace ig
