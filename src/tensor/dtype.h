#pragma once
// Tensor element types. Numeric values are the GGML/GGUF type ids, so a
// DType read from a file can be used directly once validated.
#include <cstdint>
#include <optional>
#include <string_view>

namespace ig {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
};

struct DTypeInfo {
    std::string_view name;
    uint32_t block_elems;  // elements per block (1 for plain types)
    uint32_t block_bytes;  // bytes per block
};

// Layout of a known type id; nullopt for ids we do not know (the caller
// reports "unknown tensor type N").
std::optional<DTypeInfo> dtype_info(uint32_t type_id);
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);  // "f32", "q8_0", ...

// Bytes of a row of n elements; nullopt if n is not a multiple of the block
// size or the type is unknown.
std::optional<uint64_t> row_bytes(DType t, uint64_t n);

// Types the forward pass can compute with (quantize/dequantize exist).
bool dtype_is_computable(DType t);

}  // namespace ig
