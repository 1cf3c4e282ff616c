#include "model/safetensors_file.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "util/utf8.h"

namespace ig {
namespace {

using json = nlohmann::json;

struct DTypeName {
    StDType type;
    std::string_view name;
    uint32_t bytes;
};
constexpr std::array<DTypeName, 12> kDTypes{{
    {StDType::F64, "F64", 8},
    {StDType::F32, "F32", 4},
    {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2},
    {StDType::I64, "I64", 8},
    {StDType::I32, "I32", 4},
    {StDType::I16, "I16", 2},
    {StDType::I8, "I8", 1},
    {StDType::U8, "U8", 1},
    {StDType::BOOL, "BOOL", 1},
    {StDType::F8_E4M3, "F8_E4M3", 1},
    {StDType::F8_E5M2, "F8_E5M2", 1},
}};

// JSON nesting deeper than a header ever needs (object > tensor > shape) is
// refused before parsing, so no parser or destructor recurses on it.
constexpr int kMaxJsonDepth = 16;

Status check_header_text(std::string_view h) {
    for (size_t i = 0; i < h.size();) {
        const size_t n = utf8::valid_at(h, i);
        if (n == 0) return make_error("header is not valid UTF-8 (byte {} of the header)", i);
        i += n;
    }
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < h.size(); ++i) {
        const char c = h[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxJsonDepth)
                return make_error("header JSON is nested more than {} levels deep", kMaxJsonDepth);
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return {};
}

Expected<uint64_t> to_u64(const json& v, const std::string& what) {
    if (!v.is_number_integer()) return make_error("{} is not a non-negative integer", what);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    const auto x = v.get<int64_t>();
    if (x < 0) return make_error("{} is negative ({})", what, x);
    return static_cast<uint64_t>(x);
}

struct Entry {
    SafetensorsTensor t;
    uint64_t begin = 0, end = 0;
};

Expected<Entry> read_entry(const std::string& name, const json& v) {
    Entry e;
    e.t.name = name;
    if (!v.is_object()) return make_error("tensor '{}': entry is not a JSON object", name);
    for (const auto& [k, _] : v.items())
        if (k != "dtype" && k != "shape" && k != "data_offsets")
            return make_error("tensor '{}': unexpected field '{}'", name, k);
    if (!v.contains("dtype") || !v["dtype"].is_string())
        return make_error("tensor '{}': missing or non-string 'dtype'", name);
    const auto dname = v["dtype"].get<std::string>();
    auto dt = st_dtype_from_name(dname);
    if (!dt)
        return make_error(
            "tensor '{}': unknown dtype '{}' (known: F64 F32 F16 BF16 I64 I32 I16 "
            "I8 U8 BOOL F8_E4M3 F8_E5M2)",
            name, dname);
    e.t.dtype = *dt;
    if (!v.contains("shape") || !v["shape"].is_array())
        return make_error("tensor '{}': missing or non-array 'shape'", name);
    if (v["shape"].size() > kSafetensorsMaxDims)
        return make_error("tensor '{}': {} dimensions (at most {})", name, v["shape"].size(),
                          kSafetensorsMaxDims);
    uint64_t n = 1;
    for (const json& d : v["shape"]) {
        uint64_t x = 0;
        IG_ASSIGN_OR_RETURN(x, to_u64(d, "tensor '" + name + "': a shape dimension"));
        e.t.shape.push_back(x);
        if (__builtin_mul_overflow(n, x, &n))
            return make_error("tensor '{}': shape element count overflows 64 bits", name);
    }
    e.t.n_elements = n;
    uint64_t n_bytes = 0;
    if (__builtin_mul_overflow(n, uint64_t{st_dtype_bytes(*dt)}, &n_bytes))
        return make_error("tensor '{}': byte size overflows 64 bits", name);
    const json* off = v.contains("data_offsets") ? &v["data_offsets"] : nullptr;
    if (off == nullptr || !off->is_array() || off->size() != 2)
        return make_error("tensor '{}': 'data_offsets' is not an array [begin, end]", name);
    IG_ASSIGN_OR_RETURN(e.begin, to_u64((*off)[0], "tensor '" + name + "': data_offsets[0]"));
    IG_ASSIGN_OR_RETURN(e.end, to_u64((*off)[1], "tensor '" + name + "': data_offsets[1]"));
    if (e.end < e.begin)
        return make_error("tensor '{}': data_offsets [{}, {}] end before begin", name, e.begin,
                          e.end);
    if (e.end - e.begin != n_bytes)
        return make_error(
            "tensor '{}': data_offsets [{}, {}] hold {} bytes, but shape {} of {} needs {}", name,
            e.begin, e.end, e.end - e.begin, v["shape"].dump(), dname, n_bytes);
    return e;
}

}  // namespace

std::string_view st_dtype_name(StDType t) {
    for (const auto& d : kDTypes)
        if (d.type == t) return d.name;
    return "?";
}

std::optional<StDType> st_dtype_from_name(std::string_view name) {
    for (const auto& d : kDTypes)
        if (d.name == name) return d.type;
    return std::nullopt;
}

uint32_t st_dtype_bytes(StDType t) {
    for (const auto& d : kDTypes)
        if (d.type == t) return d.bytes;
    return 1;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    auto mapped = MappedFile::open(path);
    if (!mapped) return mapped.error();
    auto file = std::make_shared<const MappedFile>(std::move(*mapped));
    auto parsed = parse(file->bytes());
    if (!parsed) return make_error("{}: {}", path, parsed.error().message);
    parsed->file_ = std::move(file);
    parsed->path_ = path;
    return parsed;
}

Expected<SafetensorsFile> SafetensorsFile::parse(std::span<const uint8_t> bytes) {
    if (bytes.size() < 8)
        return make_error("truncated file: {} bytes, the header length alone needs 8",
                          bytes.size());
    uint64_t n_header = 0;
    std::memcpy(&n_header, bytes.data(), 8);  // little-endian host (as the GGUF reader)
    if (n_header > bytes.size() - 8)
        return make_error("header length {} runs past the end of the file ({} bytes)", n_header,
                          bytes.size());
    if (n_header > kSafetensorsMaxHeader)
        return make_error("header length {} exceeds the limit of {} bytes", n_header,
                          kSafetensorsMaxHeader);
    if (n_header < 2)
        return make_error("header length {} is too small for a JSON object", n_header);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), n_header);
    IG_TRY(check_header_text(text));

    // Duplicate top-level keys are an error (nlohmann would keep the last).
    std::set<std::string> seen;
    std::string duplicate;
    const json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
        if (ev == json::parse_event_t::key && depth == 1) {
            auto k = parsed.get<std::string>();
            if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
        }
        return true;
    };
    json header = json::parse(text, cb, /*allow_exceptions=*/false);
    if (header.is_discarded()) return make_error("header is not valid JSON");
    if (!duplicate.empty())
        return make_error("duplicate tensor name '{}' in the header", duplicate);
    if (!header.is_object()) return make_error("header is not a JSON object");

    SafetensorsFile f;
    std::vector<Entry> entries;
    entries.reserve(header.size());
    for (const auto& [name, v] : header.items()) {
        if (name == "__metadata__") {
            if (!v.is_object()) return make_error("__metadata__ is not a JSON object");
            for (const auto& [mk, mv] : v.items()) {
                if (!mv.is_string())
                    return make_error("__metadata__ value of '{}' is not a string", mk);
                f.metadata_[mk] = mv.get<std::string>();
            }
            continue;
        }
        if (name.empty()) return make_error("a tensor has an empty name");
        Entry e;
        IG_ASSIGN_OR_RETURN(e, read_entry(name, v));
        entries.push_back(std::move(e));
    }

    // The data section must be covered exactly, in offset order.
    const uint64_t data_size = bytes.size() - 8 - n_header;
    const uint8_t* data = bytes.data() + 8 + n_header;
    std::vector<const Entry*> order;
    for (const auto& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t at = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        const Entry& e = *order[i];
        if (e.end > data_size)
            return make_error(
                "tensor '{}': data [{}, {}) runs past the end of the data section ({} bytes)",
                e.t.name, e.begin, e.end, data_size);
        if (e.begin < at)
            return make_error("tensors '{}' and '{}' overlap (data [{}, {}) and [{}, {}))",
                              order[i - 1]->t.name, e.t.name, order[i - 1]->begin,
                              order[i - 1]->end, e.begin, e.end);
        if (e.begin > at)
            return make_error(
                "gap in the data section: bytes [{}, {}) before tensor '{}' belong "
                "to no tensor",
                at, e.begin, e.t.name);
        at = e.end;
    }
    if (at != data_size)
        return make_error("{} bytes after the last tensor's data belong to no tensor",
                          data_size - at);

    f.tensors_.reserve(entries.size());
    for (auto& e : entries) {
        e.t.data = std::span<const uint8_t>(data + e.begin, e.end - e.begin);
        f.tensors_.push_back(std::move(e.t));
    }
    std::sort(f.tensors_.begin(), f.tensors_.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return f;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
    auto it =
        std::lower_bound(tensors_.begin(), tensors_.end(), name,
                         [](const SafetensorsTensor& t, std::string_view n) { return t.name < n; });
    return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

}  // namespace ig
