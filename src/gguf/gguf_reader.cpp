// GGUF reader: validates the whole container up front so that nothing
// downstream (model loader, tokenizer, inspect) has to distrust the file.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/ranges.h>

#include "gguf/gguf.h"

namespace ig {

// Tensor data is used in place from the mapping, so the host byte order must
// match the file's.
static_assert(std::endian::native == std::endian::little, "GGUF reader needs a little-endian host");

namespace {

constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;  // magic, version, tensor count, kv count
// Smallest possible encodings, used to reject counts that cannot fit in the
// bytes left before anything is reserved for them.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // key length, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes =
    8 + 4 + 8 + 4 + 8;  // name len, n_dims, 1 dim, type, offset
// Every metadata value costs ~50 bytes in memory, while a u8 array element
// costs 1 byte in the file. The biggest real arrays (vocabularies, merges)
// are well under 1M items; this caps what a hostile file can make us hold.
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;
constexpr uint32_t kMaxGgufType = static_cast<uint32_t>(GgufType::F64);
constexpr uint64_t kMaxKeyBytes = 65535;  // GGUF spec limit on key length

uint64_t min_encoded_size(GgufType t) {
    switch (t) {
        case GgufType::U8:
        case GgufType::I8:
        case GgufType::BOOL:
            return 1;
        case GgufType::U16:
        case GgufType::I16:
            return 2;
        case GgufType::U32:
        case GgufType::I32:
        case GgufType::F32:
            return 4;
        case GgufType::U64:
        case GgufType::I64:
        case GgufType::F64:
        case GgufType::STRING:  // u64 length
            return 8;
        case GgufType::ARRAY:  // u32 element type + u64 count
            return 12;
    }
    return 1;
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}
bool checked_add(uint64_t a, uint64_t b, uint64_t& out) {
    return !__builtin_add_overflow(a, b, &out);
}

std::string shape_str(const std::vector<uint64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

// Elements of a tensor's shape; no zero dimension, no overflow past 2^63.
Expected<uint64_t> element_count(const GgufTensorInfo& t) {
    uint64_t n = 1;
    for (uint64_t ne : t.shape) {
        if (ne == 0)
            return make_error("tensor '{}' has a zero dimension (shape {})", t.name,
                              shape_str(t.shape));
        if (!checked_mul(n, ne, n) || n > uint64_t(std::numeric_limits<int64_t>::max()))
            return make_error("tensor '{}' shape {} overflows: element count exceeds 2^63", t.name,
                              shape_str(t.shape));
    }
    return n;
}

// Bounds-checked cursor over the file bytes. Every read checks the bytes
// left first; error messages are built only on failure.
class Parser {
  public:
    explicit Parser(std::span<const uint8_t> b) : b_(b) {}

    uint64_t pos() const { return pos_; }
    uint64_t size() const { return b_.size(); }
    uint64_t remaining() const { return b_.size() - pos_; }

    // `what` is a callable returning a description of the field, used only
    // for the error message.
    template <class T, class What>
    Expected<T> read(What&& what) {
        if (remaining() < sizeof(T)) return truncated(what(), sizeof(T));
        T v;
        std::memcpy(&v, b_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    template <class What>
    Expected<std::string> read_string(What&& what) {
        if (remaining() < 8) return truncated(what() + " length", 8);
        uint64_t n;
        std::memcpy(&n, b_.data() + pos_, 8);
        if (n > remaining() - 8)
            return make_error(
                "truncated file: {} of length {} extends past end of file (offset {}, file size "
                "{})",
                what(), n, pos_ + 8, size());
        pos_ += 8;
        std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(n));
        pos_ += n;
        return s;
    }

    Error truncated(const std::string& what, uint64_t need) const {
        return make_error(
            "truncated file: {} extends past end of file (offset {}, size {}, file size {})", what,
            pos_, need, size());
    }

    // Metadata values. kv_i_/key_/path_ describe where we are for messages.
    Expected<GgufValue> value(uint32_t type_raw, uint32_t depth);
    std::string where() const {
        std::string s = fmt::format("metadata key {} ('{}')", kv_i_, key_);
        for (uint64_t i : path_) s += fmt::format("[{}]", i);
        return s;
    }
    void set_key(uint64_t i, std::string_view key) {
        kv_i_ = i;
        key_ = key;
        path_.clear();
    }

  private:
    template <class T>
    Expected<T> scalar() {
        return read<T>([&] { return where(); });
    }

    std::span<const uint8_t> b_;
    uint64_t pos_ = 0;
    uint64_t n_values_ = 0;
    uint64_t kv_i_ = 0;
    std::string_view key_;
    std::vector<uint64_t> path_;  // array indices from the key down to the current value
};

Expected<GgufValue> Parser::value(uint32_t type_raw, uint32_t depth) {
    if (type_raw > kMaxGgufType)
        return make_error("{} has unknown value type {}", where(), type_raw);
    if (++n_values_ > kMaxMetadataValues)
        return make_error("metadata has more than {} values", kMaxMetadataValues);
    GgufValue out;
    out.type = static_cast<GgufType>(type_raw);
    switch (out.type) {
        case GgufType::U8: {
            auto x = scalar<uint8_t>();
            if (!x) return x.error();
            out.v = uint64_t{*x};
            break;
        }
        case GgufType::I8: {
            auto x = scalar<int8_t>();
            if (!x) return x.error();
            out.v = int64_t{*x};
            break;
        }
        case GgufType::U16: {
            auto x = scalar<uint16_t>();
            if (!x) return x.error();
            out.v = uint64_t{*x};
            break;
        }
        case GgufType::I16: {
            auto x = scalar<int16_t>();
            if (!x) return x.error();
            out.v = int64_t{*x};
            break;
        }
        case GgufType::U32: {
            auto x = scalar<uint32_t>();
            if (!x) return x.error();
            out.v = uint64_t{*x};
            break;
        }
        case GgufType::I32: {
            auto x = scalar<int32_t>();
            if (!x) return x.error();
            out.v = int64_t{*x};
            break;
        }
        case GgufType::U64: {
            auto x = scalar<uint64_t>();
            if (!x) return x.error();
            out.v = *x;
            break;
        }
        case GgufType::I64: {
            auto x = scalar<int64_t>();
            if (!x) return x.error();
            out.v = *x;
            break;
        }
        case GgufType::F32: {
            auto x = scalar<float>();
            if (!x) return x.error();
            out.v = double{*x};
            break;
        }
        case GgufType::F64: {
            auto x = scalar<double>();
            if (!x) return x.error();
            out.v = *x;
            break;
        }
        case GgufType::BOOL: {
            // Writers emit 0/1; like llama.cpp, read any nonzero byte as true.
            auto x = scalar<uint8_t>();
            if (!x) return x.error();
            out.v = *x != 0;
            break;
        }
        case GgufType::STRING: {
            auto s = read_string([&] { return where(); });
            if (!s) return s.error();
            out.v = std::move(*s);
            break;
        }
        case GgufType::ARRAY: {
            if (depth >= kGgufMaxDepth)
                return make_error("{}: arrays nested deeper than {} levels", where(),
                                  kGgufMaxDepth);
            auto et = read<uint32_t>([&] { return where() + " array element type"; });
            if (!et) return et.error();
            if (*et > kMaxGgufType)
                return make_error("{} is an array of unknown value type {}", where(), *et);
            auto n = read<uint64_t>([&] { return where() + " array length"; });
            if (!n) return n.error();
            auto elem = static_cast<GgufType>(*et);
            uint64_t min = min_encoded_size(elem);
            if (*n > remaining() / min)
                return make_error(
                    "truncated or corrupt file: {}: array length {} cannot fit in the file "
                    "({} bytes left, each {} element needs at least {})",
                    where(), *n, remaining(), gguf_type_name(elem), min);
            if (*n > kMaxMetadataValues - n_values_)
                return make_error("{}: array length {} exceeds the limit of {} metadata values",
                                  where(), *n, kMaxMetadataValues);
            GgufArray arr;
            arr.elem_type = elem;
            arr.items.reserve(static_cast<size_t>(*n));
            path_.push_back(0);
            for (uint64_t i = 0; i < *n; ++i) {
                path_.back() = i;
                auto item = value(*et, depth + 1);
                if (!item) return item.error();
                arr.items.push_back(std::move(*item));
            }
            path_.pop_back();
            out.v = std::move(arr);
            break;
        }
    }
    return out;
}

// Sorted-by-name index; returns the first duplicate name, if any.
template <class V, class Name>
std::optional<size_t> build_index(const V& items, Name name, std::vector<uint32_t>& index) {
    index.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) index[i] = static_cast<uint32_t>(i);
    std::stable_sort(index.begin(), index.end(),
                     [&](uint32_t a, uint32_t b) { return name(items[a]) < name(items[b]); });
    for (size_t i = 1; i < index.size(); ++i)
        if (name(items[index[i - 1]]) == name(items[index[i]])) return index[i];
    return std::nullopt;
}

template <class V, class Name>
const typename V::value_type* lookup(const V& items, const std::vector<uint32_t>& index,
                                     std::string_view key, Name name) {
    auto it = std::lower_bound(index.begin(), index.end(), key,
                               [&](uint32_t i, std::string_view k) { return name(items[i]) < k; });
    if (it == index.end() || name(items[*it]) != key) return nullptr;
    return &items[*it];
}

std::string escape(std::string_view s, size_t max_bytes) {
    std::string out = "\"";
    size_t n = std::min(s.size(), max_bytes);
    for (size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("\\x{:02x}", c);
                else
                    out += static_cast<char>(c);
        }
    }
    out += '"';
    if (n < s.size()) out += fmt::format("...({} bytes)", s.size());
    return out;
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
    switch (t) {
        case GgufType::U8:
            return "u8";
        case GgufType::I8:
            return "i8";
        case GgufType::U16:
            return "u16";
        case GgufType::I16:
            return "i16";
        case GgufType::U32:
            return "u32";
        case GgufType::I32:
            return "i32";
        case GgufType::F32:
            return "f32";
        case GgufType::BOOL:
            return "bool";
        case GgufType::STRING:
            return "string";
        case GgufType::ARRAY:
            return "array";
        case GgufType::U64:
            return "u64";
        case GgufType::I64:
            return "i64";
        case GgufType::F64:
            return "f64";
    }
    return "unknown";
}

std::string gguf_value_to_string(const GgufValue& v, size_t max_items) {
    if (const auto* x = std::get_if<uint64_t>(&v.v)) return fmt::format("{}", *x);
    if (const auto* x = std::get_if<int64_t>(&v.v)) return fmt::format("{}", *x);
    if (const auto* x = std::get_if<double>(&v.v)) {
        // An f32 widened to double would print as 9.999999747378752e-06;
        // print it at float precision (1e-05) instead.
        if (v.type == GgufType::F32) return fmt::format("{}", static_cast<float>(*x));
        return fmt::format("{}", *x);
    }
    if (const auto* x = std::get_if<bool>(&v.v)) return *x ? "true" : "false";
    if (const auto* x = std::get_if<std::string>(&v.v)) return escape(*x, 80);
    const auto& a = std::get<GgufArray>(v.v);
    std::string out = "[";
    size_t n = std::min(a.items.size(), max_items);
    for (size_t i = 0; i < n; ++i) {
        if (i) out += ", ";
        out += gguf_value_to_string(a.items[i], max_items);
    }
    if (n < a.items.size()) {
        out += n ? ", ...]" : "...]";
        out += fmt::format(" (array of {} {})", a.items.size(), gguf_type_name(a.elem_type));
    } else {
        out += "]";
    }
    return out;
}

void GgufFile::drop_pages(const void* p, size_t n) const {
    if (file_) file_->drop_pages(p, n);
    const auto* b = static_cast<const uint8_t*>(p);
    for (const auto& m : maps_)
        if (b >= m->data() && b + n <= m->data() + m->size()) m->drop_pages(p, n);
}

Expected<GgufFile> GgufFile::assemble(std::vector<GgufKV> kv, std::vector<GgufTensorInfo> tensors,
                                      std::vector<std::shared_ptr<const MappedFile>> maps,
                                      std::vector<std::shared_ptr<const void>> owned,
                                      std::string path) {
    GgufFile f;
    f.version_ = 3;
    f.path_ = std::move(path);
    f.kv_ = std::move(kv);
    f.tensors_ = std::move(tensors);
    f.maps_ = std::move(maps);
    f.owned_ = std::move(owned);
    for (const auto& kv : f.kv_)
        if (kv.key.empty() || kv.key.size() > kMaxKeyBytes)
            return make_error("metadata key '{}' has a bad length", kv.key);
    if (auto dup = build_index(
            f.kv_, [](const GgufKV& kv) -> std::string_view { return kv.key; }, f.kv_index_))
        return make_error("duplicate metadata key '{}'", f.kv_[*dup].key);
    for (auto& t : f.tensors_) {
        if (t.name.empty()) return make_error("a tensor has an empty name");
        if (t.shape.empty() || t.shape.size() > kGgufMaxDims)
            return make_error("tensor '{}' has {} dimensions (supported: 1 to {})", t.name,
                              t.shape.size(), kGgufMaxDims);
        uint64_t n = 0;
        IG_ASSIGN_OR_RETURN(n, element_count(t));
        auto info = dtype_info(static_cast<uint32_t>(t.type));
        if (!info) return make_error("tensor '{}' has an unknown type", t.name);
        if (t.shape[0] % info->block_elems != 0)
            return make_error(
                "tensor '{}' of type {}: ne[0] = {} is not a multiple of the block size {}", t.name,
                info->name, t.shape[0], info->block_elems);
        uint64_t bytes = 0;
        if (!checked_mul(n / info->block_elems, info->block_bytes, bytes))
            return make_error("tensor '{}' shape {} of type {}: byte size overflows 64 bits",
                              t.name, shape_str(t.shape), info->name);
        if (t.n_bytes != 0 && t.n_bytes != bytes)
            return make_error("tensor '{}' holds {} bytes, its shape {} of type {} needs {}",
                              t.name, t.n_bytes, shape_str(t.shape), info->name, bytes);
        if (t.data == nullptr) return make_error("tensor '{}' has no data", t.name);
        t.n_elements = n;
        t.n_bytes = bytes;
        t.offset = 0;
    }
    if (auto dup = build_index(
            f.tensors_, [](const GgufTensorInfo& t) -> std::string_view { return t.name; },
            f.tensor_index_))
        return make_error("duplicate tensor name '{}'", f.tensors_[*dup].name);
    return f;
}

Expected<GgufFile> GgufFile::open(const std::string& path) {
    auto mapped = MappedFile::open(path);
    if (!mapped) return mapped.error();
    auto file = std::make_shared<MappedFile>(std::move(*mapped));
    auto parsed = parse_impl(file->bytes());
    if (!parsed) return make_error("{}: {}", path, parsed.error().message);
    parsed->file_ = std::move(file);
    parsed->path_ = path;
    return parsed;
}

Expected<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes) {
    return parse_impl(bytes);
}

Expected<GgufFile> GgufFile::parse_impl(std::span<const uint8_t> bytes) {
    const uint64_t size = bytes.size();
    if (size < 4)
        return make_error("truncated file: {} bytes is smaller than the {}-byte GGUF header", size,
                          kHeaderBytes);
    if (std::memcmp(bytes.data(), "GGUF", 4) != 0)
        return make_error(
            "not a GGUF file: bad magic {:02x} {:02x} {:02x} {:02x} (expected 47 47 55 46, "
            "\"GGUF\")",
            bytes[0], bytes[1], bytes[2], bytes[3]);
    if (size < 8)
        return make_error("truncated file: {} bytes is smaller than the {}-byte GGUF header", size,
                          kHeaderBytes);

    Parser p(bytes);
    (void)p.read<uint32_t>([] { return std::string("magic"); });
    uint32_t version = *p.read<uint32_t>([] { return std::string("version"); });
    if (version == 1)
        return make_error(
            "unsupported GGUF version 1 (it used 32-bit counts); re-convert the model with a "
            "current converter (supported: 2, 3)");
    if (version != 2 && version != 3) {
        if (version != 0 && (version & 0xffff) == 0)
            return make_error(
                "unsupported GGUF version {} (0x{:08x}): the file looks big-endian; only "
                "little-endian files are supported",
                version, version);
        return make_error("unsupported GGUF version {} (supported: 2, 3)", version);
    }
    if (size < kHeaderBytes)
        return make_error("truncated file: {} bytes is smaller than the {}-byte GGUF header", size,
                          kHeaderBytes);
    uint64_t n_tensors = *p.read<uint64_t>([] { return std::string("tensor count"); });
    uint64_t n_kv = *p.read<uint64_t>([] { return std::string("metadata kv count"); });
    if (n_kv > p.remaining() / kMinKvBytes)
        return make_error(
            "truncated or corrupt file: metadata kv count {} cannot fit in the file ({} bytes "
            "after the header, each pair "
            "needs at least {})",
            n_kv, p.remaining(), kMinKvBytes);
    if (n_tensors > p.remaining() / kMinTensorInfoBytes)
        return make_error(
            "truncated or corrupt file: tensor count {} cannot fit in the file ({} bytes after the "
            "header, each tensor info "
            "needs at least {})",
            n_tensors, p.remaining(), kMinTensorInfoBytes);
    if (n_tensors > std::numeric_limits<uint32_t>::max() ||
        n_kv > std::numeric_limits<uint32_t>::max())
        return make_error("too many tensors ({}) or metadata keys ({})", n_tensors, n_kv);

    GgufFile f;
    f.bytes_ = bytes;
    f.version_ = version;

    // Metadata.
    f.kv_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        auto key = p.read_string([&] { return fmt::format("metadata key {} name", i); });
        if (!key) return key.error();
        if (key->empty()) return make_error("metadata key {} has an empty name", i);
        if (key->size() > kMaxKeyBytes)
            return make_error("metadata key {} name is {} bytes long (limit {})", i, key->size(),
                              kMaxKeyBytes);
        p.set_key(i, *key);
        auto type = p.read<uint32_t>([&] { return p.where() + " value type"; });
        if (!type) return type.error();
        auto val = p.value(*type, 0);
        if (!val) return val.error();
        f.kv_.push_back(GgufKV{std::move(*key), std::move(*val)});
        p.set_key(i, {});  // the key string moved; never leave a dangling view
    }
    if (auto dup = build_index(
            f.kv_, [](const GgufKV& kv) -> std::string_view { return kv.key; }, f.kv_index_))
        return make_error("duplicate metadata key '{}'", f.kv_[*dup].key);

    if (const GgufValue* a = f.find("general.alignment")) {
        if (a->type != GgufType::U32)
            return make_error("general.alignment has type {} (expected u32)",
                              gguf_type_name(a->type));
        uint64_t align = std::get<uint64_t>(a->v);
        if (!std::has_single_bit(align))
            return make_error("general.alignment {} is not a nonzero power of two", align);
        f.alignment_ = align;
    }

    // Tensor infos.
    if (n_tensors > p.remaining() / kMinTensorInfoBytes)
        return make_error(
            "truncated or corrupt file: tensor count {} cannot fit in the file ({} bytes after the "
            "metadata, each tensor "
            "info needs at least {})",
            n_tensors, p.remaining(), kMinTensorInfoBytes);
    f.tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        GgufTensorInfo t;
        auto name = p.read_string([&] { return fmt::format("tensor info {} name", i); });
        if (!name) return name.error();
        t.name = std::move(*name);
        auto what = [&](std::string_view field) {
            return [&, field] { return fmt::format("tensor info {} ('{}') {}", i, t.name, field); };
        };
        auto n_dims = p.read<uint32_t>(what("n_dims"));
        if (!n_dims) return n_dims.error();
        if (*n_dims == 0 || *n_dims > kGgufMaxDims)
            return make_error("tensor '{}' has {} dimensions (supported: 1 to {})", t.name, *n_dims,
                              kGgufMaxDims);
        t.shape.resize(*n_dims);
        for (uint32_t d = 0; d < *n_dims; ++d) {
            auto ne = p.read<uint64_t>(what("dims"));
            if (!ne) return ne.error();
            t.shape[d] = *ne;
        }
        auto type = p.read<uint32_t>(what("type"));
        if (!type) return type.error();
        auto off = p.read<uint64_t>(what("offset"));
        if (!off) return off.error();
        t.offset = *off;

        uint64_t n = 0;
        IG_ASSIGN_OR_RETURN(n, element_count(t));
        t.n_elements = n;
        auto info = dtype_info(*type);
        if (!info) return make_error("tensor '{}' has unknown type id {}", t.name, *type);
        t.type = static_cast<DType>(*type);
        if (t.shape[0] % info->block_elems != 0)
            return make_error(
                "tensor '{}' of type {}: ne[0] = {} is not a multiple of the block size {}", t.name,
                info->name, t.shape[0], info->block_elems);
        if (!checked_mul(n / info->block_elems, info->block_bytes, t.n_bytes))
            return make_error("tensor '{}' shape {} of type {}: byte size overflows 64 bits",
                              t.name, shape_str(t.shape), info->name);
        f.tensors_.push_back(std::move(t));
    }
    if (auto dup = build_index(
            f.tensors_, [](const GgufTensorInfo& t) -> std::string_view { return t.name; },
            f.tensor_index_))
        return make_error("duplicate tensor name '{}'", f.tensors_[*dup].name);

    // Data section: starts at the next multiple of the alignment. A file
    // without tensors (vocab-only) may end before it.
    const uint64_t align = f.alignment_;
    f.data_offset_ = (p.pos() + align - 1) / align * align;  // pos <= size < 2^63: no overflow
    for (auto& t : f.tensors_) {
        if (t.offset % align != 0)
            return make_error("tensor '{}' offset {} is not a multiple of the alignment {}", t.name,
                              t.offset, align);
        uint64_t begin, end;
        if (!checked_add(f.data_offset_, t.offset, begin) || !checked_add(begin, t.n_bytes, end) ||
            end > size)
            return make_error(
                "truncated file: tensor '{}' data extends past end of file (data offset {}, "
                "tensor offset {}, size {}, file size {})",
                t.name, f.data_offset_, t.offset, t.n_bytes, size);
        t.data = bytes.data() + begin;
    }
    std::vector<const GgufTensorInfo*> by_offset;
    by_offset.reserve(f.tensors_.size());
    for (const auto& t : f.tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const auto* a = by_offset[i - 1];
        const auto* b = by_offset[i];
        if (a->offset + a->n_bytes > b->offset)  // both ranges are inside the file: no overflow
            return make_error("tensors '{}' and '{}' overlap (data [{}, {}) and [{}, {}))", a->name,
                              b->name, a->offset, a->offset + a->n_bytes, b->offset,
                              b->offset + b->n_bytes);
    }
    return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    const GgufKV* kv =
        lookup(kv_, kv_index_, key, [](const GgufKV& kv) -> std::string_view { return kv.key; });
    return kv ? &kv->value : nullptr;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    return lookup(tensors_, tensor_index_, name,
                  [](const GgufTensorInfo& t) -> std::string_view { return t.name; });
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* u = std::get_if<uint64_t>(&v->v)) {
        if (*u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&v->v)) return *i;
    return std::nullopt;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* d = std::get_if<double>(&v->v)) return *d;
    if (const auto* u = std::get_if<uint64_t>(&v->v)) return static_cast<double>(*u);
    if (const auto* i = std::get_if<int64_t>(&v->v)) return static_cast<double>(*i);
    return std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* b = std::get_if<bool>(&v->v)) return *b;
    return std::nullopt;
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&v->v)) return std::string_view(*s);
    return std::nullopt;
}

const GgufArray* GgufFile::get_array(std::string_view key) const {
    const GgufValue* v = find(key);
    return v ? std::get_if<GgufArray>(&v->v) : nullptr;
}

}  // namespace ig
