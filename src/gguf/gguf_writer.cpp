#include "gguf/gguf.h"

// GGUF writer: validates everything before the first byte is written, then
// streams to path.tmp and renames, so a failed or interrupted write never
// leaves a half-written model under the final name.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <new>

namespace ig {

namespace {

constexpr std::string_view kAlignmentKey = "general.alignment";

// Checks that the variant alternative matches `type` and that integers fit
// the declared width, so that what we write reads back as the same value.
Status check_value(const GgufValue& v, std::string_view key, uint32_t depth) {
    auto bad = [&](std::string_view why) {
        return make_error("metadata key '{}': {} value {}", key, gguf_type_name(v.type), why);
    };
    auto unsigned_fits = [&](uint64_t max) -> Status {
        const auto* x = std::get_if<uint64_t>(&v.v);
        if (!x) return bad("does not hold an unsigned integer");
        if (*x > max) return bad(fmt::format("{} is out of range", *x));
        return {};
    };
    auto signed_fits = [&](int64_t min, int64_t max) -> Status {
        const auto* x = std::get_if<int64_t>(&v.v);
        if (!x) return bad("does not hold a signed integer");
        if (*x < min || *x > max) return bad(fmt::format("{} is out of range", *x));
        return {};
    };
    switch (v.type) {
        case GgufType::U8:
            return unsigned_fits(std::numeric_limits<uint8_t>::max());
        case GgufType::U16:
            return unsigned_fits(std::numeric_limits<uint16_t>::max());
        case GgufType::U32:
            return unsigned_fits(std::numeric_limits<uint32_t>::max());
        case GgufType::U64:
            return unsigned_fits(std::numeric_limits<uint64_t>::max());
        case GgufType::I8:
            return signed_fits(INT8_MIN, INT8_MAX);
        case GgufType::I16:
            return signed_fits(INT16_MIN, INT16_MAX);
        case GgufType::I32:
            return signed_fits(INT32_MIN, INT32_MAX);
        case GgufType::I64:
            return signed_fits(INT64_MIN, INT64_MAX);
        case GgufType::F32:
        case GgufType::F64:
            if (!std::holds_alternative<double>(v.v)) return bad("does not hold a double");
            return {};
        case GgufType::BOOL:
            if (!std::holds_alternative<bool>(v.v)) return bad("does not hold a bool");
            return {};
        case GgufType::STRING:
            if (!std::holds_alternative<std::string>(v.v)) return bad("does not hold a string");
            return {};
        case GgufType::ARRAY: {
            const auto* a = std::get_if<GgufArray>(&v.v);
            if (!a) return bad("does not hold an array");
            if (depth >= kGgufMaxDepth)
                return make_error("metadata key '{}': arrays nested deeper than {} levels", key,
                                  kGgufMaxDepth);
            if (static_cast<uint32_t>(a->elem_type) > static_cast<uint32_t>(GgufType::F64))
                return make_error("metadata key '{}': array of unknown value type {}", key,
                                  static_cast<uint32_t>(a->elem_type));
            for (const auto& item : a->items) {
                if (item.type != a->elem_type)
                    return make_error("metadata key '{}': array of {} holds a {} item", key,
                                      gguf_type_name(a->elem_type), gguf_type_name(item.type));
                IG_TRY(check_value(item, key, depth + 1));
            }
            return {};
        }
    }
    return make_error("metadata key '{}': unknown value type {}", key,
                      static_cast<uint32_t>(v.type));
}

class Buf {
  public:
    template <class T>
    void put(T x) {
        const auto* p = reinterpret_cast<const uint8_t*>(&x);
        b_.insert(b_.end(), p, p + sizeof(T));
    }
    void put_string(std::string_view s) {
        put<uint64_t>(s.size());
        b_.insert(b_.end(), s.begin(), s.end());
    }
    void pad_to(uint64_t align) {
        while (b_.size() % align) b_.push_back(0);
    }
    // Value payload without its type tag (the caller writes the tag: kv
    // pairs and nested arrays carry one, array items do not).
    void put_value(const GgufValue& v) {
        switch (v.type) {
            case GgufType::U8:
                return put<uint8_t>(static_cast<uint8_t>(std::get<uint64_t>(v.v)));
            case GgufType::U16:
                return put<uint16_t>(static_cast<uint16_t>(std::get<uint64_t>(v.v)));
            case GgufType::U32:
                return put<uint32_t>(static_cast<uint32_t>(std::get<uint64_t>(v.v)));
            case GgufType::U64:
                return put<uint64_t>(std::get<uint64_t>(v.v));
            case GgufType::I8:
                return put<int8_t>(static_cast<int8_t>(std::get<int64_t>(v.v)));
            case GgufType::I16:
                return put<int16_t>(static_cast<int16_t>(std::get<int64_t>(v.v)));
            case GgufType::I32:
                return put<int32_t>(static_cast<int32_t>(std::get<int64_t>(v.v)));
            case GgufType::I64:
                return put<int64_t>(std::get<int64_t>(v.v));
            case GgufType::F32:
                return put<float>(static_cast<float>(std::get<double>(v.v)));
            case GgufType::F64:
                return put<double>(std::get<double>(v.v));
            case GgufType::BOOL:
                return put<uint8_t>(std::get<bool>(v.v) ? 1 : 0);
            case GgufType::STRING:
                return put_string(std::get<std::string>(v.v));
            case GgufType::ARRAY: {
                const auto& a = std::get<GgufArray>(v.v);
                put<uint32_t>(static_cast<uint32_t>(a.elem_type));
                put<uint64_t>(a.items.size());
                for (const auto& item : a.items) put_value(item);
                return;
            }
        }
    }
    const std::vector<uint8_t>& bytes() const { return b_; }

  private:
    std::vector<uint8_t> b_;
};

// A file descriptor that is closed (and its file removed) unless committed.
class OutFile {
  public:
    ~OutFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    Status open(const std::string& path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) return make_error("cannot create '{}': {}", path, std::strerror(errno));
        path_ = path;
        return {};
    }
    Status write(const uint8_t* p, uint64_t n) {
        while (n > 0) {
            ssize_t w = ::write(fd_, p, std::min<uint64_t>(n, uint64_t{1} << 30));
            if (w < 0) {
                if (errno == EINTR) continue;
                return make_error("cannot write '{}': {}", path_, std::strerror(errno));
            }
            p += w;
            n -= static_cast<uint64_t>(w);
        }
        return {};
    }
    Status zeros(uint64_t n) {
        static constexpr uint8_t kZeros[4096] = {};
        while (n > 0) {  // n < alignment, which may exceed the buffer
            uint64_t k = std::min<uint64_t>(n, sizeof(kZeros));
            IG_TRY(write(kZeros, k));
            n -= k;
        }
        return {};
    }
    // fsync before rename: otherwise a crash can leave the final name
    // pointing at a file whose data never reached the disk.
    Status commit(const std::string& final_path) {
        if (::fsync(fd_) != 0)
            return make_error("cannot sync '{}': {}", path_, std::strerror(errno));
        int rc = ::close(fd_);
        fd_ = -1;
        if (rc != 0) return make_error("cannot close '{}': {}", path_, std::strerror(errno));
        if (::rename(path_.c_str(), final_path.c_str()) != 0)
            return make_error("cannot rename '{}' to '{}': {}", path_, final_path,
                              std::strerror(errno));
        path_.clear();
        return {};
    }

  private:
    int fd_ = -1;
    std::string path_;
};

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
    for (auto& kv : kv_) {
        if (kv.key == key) {
            kv.value = std::move(value);
            return;
        }
    }
    kv_.push_back(GgufKV{std::move(key), std::move(value)});
}

Status GgufWriter::add_tensor(std::string name, std::vector<uint64_t> shape, DType type,
                              FillFn fill) {
    if (name.empty()) return make_error("tensor name is empty");
    for (const auto& t : tensors_)
        if (t.name == name) return make_error("duplicate tensor name '{}'", name);
    if (shape.empty() || shape.size() > kGgufMaxDims)
        return make_error("tensor '{}' has {} dimensions (supported: 1 to {})", name, shape.size(),
                          kGgufMaxDims);
    auto info = dtype_info(static_cast<uint32_t>(type));
    if (!info)
        return make_error("tensor '{}' has unknown type id {}", name, static_cast<uint32_t>(type));
    uint64_t rows = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 0) return make_error("tensor '{}' has a zero dimension", name);
        if (d > 0 && __builtin_mul_overflow(rows, shape[d], &rows))
            return make_error("tensor '{}': element count overflows 64 bits", name);
    }
    uint64_t n_elements;
    if (__builtin_mul_overflow(rows, shape[0], &n_elements) ||
        n_elements > uint64_t(std::numeric_limits<int64_t>::max()))
        return make_error("tensor '{}': element count overflows", name);
    auto rb = row_bytes(type, shape[0]);
    if (!rb)
        return make_error(
            "tensor '{}' of type {}: ne[0] = {} is not a multiple of the block size {}", name,
            info->name, shape[0], info->block_elems);
    uint64_t n_bytes;
    if (__builtin_mul_overflow(*rb, rows, &n_bytes))
        return make_error("tensor '{}': byte size overflows 64 bits", name);
    if (!fill) return make_error("tensor '{}' has no fill function", name);
    tensors_.push_back(
        PendingTensor{std::move(name), std::move(shape), type, n_bytes, std::move(fill)});
    return {};
}

Status GgufWriter::write(const std::string& path, uint32_t alignment,
                         const ProgressFn& progress) const {
    // Alignment: an explicit general.alignment wins over the default
    // argument (so a copied metadata set keeps its layout) but must agree
    // with an explicit non-default argument.
    uint64_t align = alignment;
    bool user_alignment = false;
    for (const auto& kv : kv_) {
        if (kv.key != kAlignmentKey) continue;
        const auto* x = std::get_if<uint64_t>(&kv.value.v);
        if (kv.value.type != GgufType::U32 || !x)
            return make_error("general.alignment must be a u32, not {}",
                              gguf_type_name(kv.value.type));
        if (alignment != kGgufDefaultAlignment && *x != alignment)
            return make_error("general.alignment is {} but write() was asked for alignment {}", *x,
                              alignment);
        align = *x;
        user_alignment = true;
    }
    if (!std::has_single_bit(align) || align > std::numeric_limits<uint32_t>::max())
        return make_error("alignment {} is not a nonzero power of two", align);
    for (const auto& kv : kv_) {
        if (kv.key.empty()) return make_error("metadata key is empty");
        if (kv.key.size() > 65535)  // GGUF spec limit; the reader rejects longer keys
            return make_error("metadata key '{}...' is {} bytes long (limit 65535)",
                              kv.key.substr(0, 32), kv.key.size());
        IG_TRY(check_value(kv.value, kv.key, 0));
    }

    // Header, metadata and tensor infos, in memory (small next to the data).
    Buf h;
    h.put<uint32_t>(0x46554747);  // "GGUF"
    h.put<uint32_t>(3);
    h.put<uint64_t>(tensors_.size());
    bool add_alignment = !user_alignment && align != kGgufDefaultAlignment;
    h.put<uint64_t>(kv_.size() + (add_alignment ? 1 : 0));
    for (const auto& kv : kv_) {
        h.put_string(kv.key);
        h.put<uint32_t>(static_cast<uint32_t>(kv.value.type));
        h.put_value(kv.value);
    }
    if (add_alignment) {
        h.put_string(kAlignmentKey);
        h.put<uint32_t>(static_cast<uint32_t>(GgufType::U32));
        h.put<uint32_t>(static_cast<uint32_t>(align));
    }
    uint64_t offset = 0;
    uint64_t max_bytes = 0;
    for (const auto& t : tensors_) {
        h.put_string(t.name);
        h.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (uint64_t ne : t.shape) h.put<uint64_t>(ne);
        h.put<uint32_t>(static_cast<uint32_t>(t.type));
        h.put<uint64_t>(offset);
        uint64_t end;
        if (__builtin_add_overflow(offset, t.n_bytes, &end) || end > UINT64_MAX - align)
            return make_error("tensor data exceeds 64-bit offsets at tensor '{}'", t.name);
        offset = (end + align - 1) / align * align;
        max_bytes = std::max(max_bytes, t.n_bytes);
    }
    h.pad_to(align);

    OutFile out;
    IG_TRY(out.open(path + ".tmp"));
    IG_TRY(out.write(h.bytes().data(), h.bytes().size()));
    try {
        // One buffer for all tensors, cleared before each fill so that bytes
        // a fill skips are deterministic zeros, not a previous tensor's data.
        std::vector<uint8_t> buf;
        buf.reserve(static_cast<size_t>(max_bytes));
        const auto n_tensors = static_cast<int64_t>(tensors_.size());
        int64_t written = 0;
        if (progress) progress(0, n_tensors);
        for (const auto& t : tensors_) {
            buf.assign(static_cast<size_t>(t.n_bytes), 0);
            t.fill(buf.data(), t.n_bytes);
            IG_TRY(out.write(buf.data(), t.n_bytes));
            uint64_t pad = (align - t.n_bytes % align) % align;
            IG_TRY(out.zeros(pad));
            if (progress) progress(++written, n_tensors);
        }
    } catch (const std::bad_alloc&) {
        return make_error("cannot write '{}': out of memory for a {}-byte tensor buffer", path,
                          max_bytes);
    } catch (const std::exception& e) {
        return make_error("cannot write '{}': tensor fill failed: {}", path, e.what());
    }
    return out.commit(path);
}

}  // namespace ig
