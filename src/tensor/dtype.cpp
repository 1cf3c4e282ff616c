#include "tensor/dtype.h"

#include <array>
#include <cctype>
#include <string>

namespace ig {
namespace {

struct Entry {
    DType type;
    DTypeInfo info;
};

constexpr std::array<Entry, 20> kTypes = {{
    {DType::F32, {"f32", 1, 4}},       {DType::F16, {"f16", 1, 2}},
    {DType::Q4_0, {"q4_0", 32, 18}},   {DType::Q4_1, {"q4_1", 32, 20}},
    {DType::Q5_0, {"q5_0", 32, 22}},   {DType::Q5_1, {"q5_1", 32, 24}},
    {DType::Q8_0, {"q8_0", 32, 34}},   {DType::Q8_1, {"q8_1", 32, 36}},
    {DType::Q2_K, {"q2_k", 256, 84}},  {DType::Q3_K, {"q3_k", 256, 110}},
    {DType::Q4_K, {"q4_k", 256, 144}}, {DType::Q5_K, {"q5_k", 256, 176}},
    {DType::Q6_K, {"q6_k", 256, 210}}, {DType::Q8_K, {"q8_k", 256, 292}},
    {DType::I8, {"i8", 1, 1}},         {DType::I16, {"i16", 1, 2}},
    {DType::I32, {"i32", 1, 4}},       {DType::I64, {"i64", 1, 8}},
    {DType::F64, {"f64", 1, 8}},       {DType::BF16, {"bf16", 1, 2}},
}};

}  // namespace

std::optional<DTypeInfo> dtype_info(uint32_t type_id) {
    for (const auto& e : kTypes)
        if (static_cast<uint32_t>(e.type) == type_id) return e.info;
    return std::nullopt;
}

std::string_view dtype_name(DType t) {
    auto i = dtype_info(static_cast<uint32_t>(t));
    return i ? i->name : std::string_view("unknown");
}

std::optional<DType> dtype_from_name(std::string_view name) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& e : kTypes)
        if (e.info.name == lower) return e.type;
    return std::nullopt;
}

std::optional<uint64_t> row_bytes(DType t, uint64_t n) {
    auto i = dtype_info(static_cast<uint32_t>(t));
    if (!i || n % i->block_elems != 0) return std::nullopt;
    return (n / i->block_elems) * i->block_bytes;
}

bool dtype_is_computable(DType t) {
    switch (t) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q8_0:
        case DType::Q4_0:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

}  // namespace ig
