#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "gguf/gguf.h"

namespace ig {
namespace {

namespace fs = std::filesystem;

std::string shared_dir() {
    const char* env = std::getenv("IG_SHARED_DIR");
    return env ? env : IG_SHARED_DIR;
}

std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Hand-assembles GGUF bytes, so that bad files can be built field by field.
struct Bytes {
    std::vector<uint8_t> b;

    template <class T>
    Bytes& put(T x) {
        const auto* p = reinterpret_cast<const uint8_t*>(&x);
        b.insert(b.end(), p, p + sizeof(T));
        return *this;
    }
    Bytes& str(std::string_view s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& pad(uint64_t align) {
        while (b.size() % align) b.push_back(0);
        return *this;
    }
    Bytes& zeros(uint64_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
    Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        b.insert(b.end(), {'G', 'G', 'U', 'F'});
        return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
    }
    Bytes& kv_u32(std::string_view key, uint32_t v) {
        return str(key).put<uint32_t>(4).put<uint32_t>(v);
    }
    Bytes& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type,
                  uint64_t offset) {
        str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
        for (uint64_t d : dims) put<uint64_t>(d);
        return put<uint32_t>(type).put<uint64_t>(offset);
    }
};

std::string parse_error(const std::vector<uint8_t>& bytes) {
    auto f = GgufFile::parse(bytes);
    return f.ok() ? std::string("<parsed ok>") : f.error().message;
}

#define EXPECT_PARSE_ERROR(bytes, substr)                                         \
    do {                                                                          \
        std::string msg_ = parse_error(bytes);                                    \
        EXPECT_NE(msg_.find(substr), std::string::npos) << "error was: " << msg_; \
    } while (0)

// A valid file with two F32 tensors of 8 elements each, so every tensor
// ends on the 32-byte alignment and the file has no trailing padding.
Bytes small_file() {
    Bytes f;
    f.header(2, 3);
    f.str("general.architecture").put<uint32_t>(8).str("llama");
    f.str("a.list").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2).str("x").str("yz");
    f.kv_u32("a.count", 7);
    f.tensor("w0", {8}, 0, 0).tensor("w1", {4, 2}, 0, 32).pad(32);
    for (int i = 0; i < 16; ++i) f.put<float>(static_cast<float>(i));
    return f;
}

TEST(GgufReader, ParsesHandBuiltFile) {
    auto bytes = small_file().b;
    auto f = GgufFile::parse(bytes);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->get_string("general.architecture"), "llama");
    EXPECT_EQ(f->get_int("a.count"), 7);
    ASSERT_NE(f->get_array("a.list"), nullptr);
    EXPECT_EQ(std::get<std::string>(f->get_array("a.list")->items[1].v), "yz");
    ASSERT_EQ(f->tensors().size(), 2u);
    const auto* w1 = f->find_tensor("w1");
    ASSERT_NE(w1, nullptr);
    EXPECT_EQ(w1->shape, (std::vector<uint64_t>{4, 2}));
    EXPECT_EQ(w1->n_elements, 8u);
    EXPECT_EQ(w1->n_bytes, 32u);
    EXPECT_EQ(w1->data, bytes.data() + f->data_offset() + 32);
    float x;
    std::memcpy(&x, w1->data + 4, 4);
    EXPECT_EQ(x, 9.0f);
    EXPECT_EQ(f->data_offset() + 64, bytes.size());

    // A copy stays usable (look-up indices are positions, not pointers).
    GgufFile copy = *f;
    EXPECT_EQ(copy.find_tensor("w0"), &copy.tensors()[0]);
    EXPECT_EQ(copy.get_int("a.count"), 7);
}

TEST(GgufReader, AcceptsVersion2) {
    auto bytes = small_file().b;
    bytes[4] = 2;
    auto f = GgufFile::parse(bytes);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->version(), 2u);
}

TEST(GgufReader, ReadsStories260K) {
    const std::string path = shared_dir() + "/models/stories260K.gguf";
    if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->path(), path);
    EXPECT_EQ(f->get_string("general.architecture"), "llama");
    const GgufArray* tokens = f->get_array("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->elem_type, GgufType::STRING);
    EXPECT_EQ(tokens->items.size(), 512u);
    EXPECT_EQ(std::get<std::string>(tokens->items[1].v), "<s>");
    const GgufTensorInfo* emb = f->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->shape, (std::vector<uint64_t>{64, 512}));
    EXPECT_EQ(f->get_int("llama.embedding_length"), 64);
    uint64_t end = 0;
    for (const auto& t : f->tensors()) {
        EXPECT_EQ(t.offset % f->alignment(), 0u) << t.name;
        end = std::max(end, f->data_offset() + t.offset + t.n_bytes);
    }
    EXPECT_LE(end, f->file_size());
}

TEST(GgufReader, ReadsVocabOnlyFiles) {
    const fs::path dir = shared_dir() + "/tokenizers/gguf";
    if (!fs::exists(dir)) GTEST_SKIP() << dir << " not found";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".gguf") continue;
        auto f = GgufFile::open(e.path().string());
        ASSERT_TRUE(f.ok()) << f.error().message;
        EXPECT_TRUE(f->get_array("tokenizer.ggml.tokens")) << e.path();
        ++n;
    }
    if (n == 0) GTEST_SKIP() << "no vocab files in " << dir;
}

TEST(GgufReader, OpenReportsPath) {
    auto f = GgufFile::open("/nonexistent/x.gguf");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("/nonexistent/x.gguf"), std::string::npos);

    const fs::path p = fs::temp_directory_path() / fmt::format("ig_gguf_bad_{}.gguf", ::getpid());
    {
        std::ofstream out(p, std::ios::binary);
        out << "GGUF";
    }
    auto g = GgufFile::open(p.string());
    fs::remove(p);
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.error().message.find(p.string()), std::string::npos) << g.error().message;
    EXPECT_NE(g.error().message.find("truncated"), std::string::npos) << g.error().message;
}

TEST(GgufReader, EveryPrefixFailsCleanly) {
    const auto full = small_file().b;
    ASSERT_TRUE(GgufFile::parse(full).ok());
    for (size_t n = 0; n < full.size(); ++n) {
        std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
        auto f = GgufFile::parse(prefix);
        ASSERT_FALSE(f.ok()) << "prefix of " << n << " bytes parsed";
        const std::string& m = f.error().message;
        EXPECT_NE(m.find("truncated"), std::string::npos) << "prefix " << n << ": " << m;
    }
}

TEST(GgufReader, EveryPrefixOfARealFileFailsCleanly) {
    const std::string path = shared_dir() + "/models/stories260K.gguf";
    if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
    const auto full = read_all(path);
    auto f = GgufFile::parse(full);
    ASSERT_TRUE(f.ok());
    uint64_t data_end = 0;
    for (const auto& t : f->tensors())
        data_end = std::max(data_end, f->data_offset() + t.offset + t.n_bytes);
    // Every prefix through the metadata and tensor infos, then a stride
    // through the tensor data.
    for (size_t n = 0; n < data_end; n += (n < f->data_offset() + 64 ? 1 : 997)) {
        auto g = GgufFile::parse(std::span(full.data(), n));
        ASSERT_FALSE(g.ok()) << "prefix of " << n << " bytes parsed";
    }
}

TEST(GgufReader, RejectsBadHeaders) {
    EXPECT_PARSE_ERROR(std::vector<uint8_t>{}, "truncated file: 0 bytes");
    EXPECT_PARSE_ERROR((std::vector<uint8_t>{'G', 'G'}), "truncated");
    EXPECT_PARSE_ERROR((std::vector<uint8_t>{'G', 'G', 'U', 'F', 3, 0}), "truncated");
    EXPECT_PARSE_ERROR((std::vector<uint8_t>{'G', 'G', 'U', 'F', 3, 0, 0, 0, 0}),
                       "smaller than the 24-byte GGUF header");

    auto bytes = small_file().b;
    bytes[0] = 'g';
    EXPECT_PARSE_ERROR(bytes, "bad magic 67 47 55 46");

    EXPECT_PARSE_ERROR(Bytes().header(0, 0, 1).b, "unsupported GGUF version 1");
    EXPECT_PARSE_ERROR(Bytes().header(0, 0, 1).b, "32-bit counts");
    EXPECT_PARSE_ERROR(Bytes().header(0, 0, 99).b, "unsupported GGUF version 99");
    EXPECT_PARSE_ERROR(Bytes().header(0, 0, 0x03000000).b, "big-endian");

    auto ok = Bytes().header(0, 0).b;
    EXPECT_TRUE(GgufFile::parse(ok).ok());  // empty but valid
}

TEST(GgufReader, RejectsHugeCounts) {
    EXPECT_PARSE_ERROR(Bytes().header(0, uint64_t{1} << 60).zeros(100).b,
                       "metadata kv count 1152921504606846976 cannot fit");
    EXPECT_PARSE_ERROR(Bytes().header(~uint64_t{0}, 0).zeros(100).b,
                       "tensor count 18446744073709551615 cannot fit");
    // A tensor count that fits the file after the header but not after the
    // metadata.
    Bytes b;
    b.header(2, 1).str("k").put<uint32_t>(8).str(std::string(60, 'x')).zeros(20);
    EXPECT_PARSE_ERROR(b.b, "tensor count 2 cannot fit in the file (20 bytes after the metadata");
}

TEST(GgufReader, RejectsHugeArrayCountAndStringLength) {
    Bytes a;
    a.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 62);
    a.zeros(64);
    EXPECT_PARSE_ERROR(a.b, "metadata key 0 ('arr'): array length 4611686018427387904 cannot fit");

    Bytes s;
    s.header(0, 1).str("s").put<uint32_t>(8).put<uint64_t>(~uint64_t{0}).zeros(16);
    EXPECT_PARSE_ERROR(s.b, "metadata key 0 ('s') of length 18446744073709551615 extends past");

    Bytes k;
    k.header(0, 1).put<uint64_t>(1000).zeros(32);
    EXPECT_PARSE_ERROR(k.b, "truncated file: metadata key 0 name of length 1000");

    Bytes t;
    t.header(1, 0).put<uint64_t>(uint64_t{1} << 40).zeros(40);
    EXPECT_PARSE_ERROR(t.b, "tensor info 0 name of length 1099511627776 extends past end");

    // Each nested string array element is checked too.
    Bytes e;
    e.header(0, 1).str("toks").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2);
    e.str("ok").put<uint64_t>(50).zeros(10);
    EXPECT_PARSE_ERROR(e.b, "metadata key 0 ('toks')[1] of length 50 extends past end of file");
}

TEST(GgufReader, RejectsUnknownTypes) {
    Bytes kv;
    kv.header(0, 1).str("k").put<uint32_t>(13).zeros(8);
    EXPECT_PARSE_ERROR(kv.b, "metadata key 0 ('k') has unknown value type 13");

    Bytes arr;
    arr.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(1).zeros(8);
    EXPECT_PARSE_ERROR(arr.b, "array of unknown value type 77");

    Bytes t;
    t.header(1, 0).tensor("w", {32}, 4, 0).pad(32).zeros(128);  // 4 was Q4_2, removed
    EXPECT_PARSE_ERROR(t.b, "tensor 'w' has unknown type id 4");
    Bytes t2;
    t2.header(1, 0).tensor("w", {32}, 1000, 0).pad(32).zeros(128);
    EXPECT_PARSE_ERROR(t2.b, "tensor 'w' has unknown type id 1000");
}

TEST(GgufReader, RejectsBadShapes) {
    auto one = [](std::vector<uint64_t> dims, uint32_t type = 0) {
        Bytes b;
        b.header(1, 0).tensor("w", std::move(dims), type, 0).pad(32).zeros(256);
        return b.b;
    };
    EXPECT_PARSE_ERROR(one({uint64_t{1} << 32, uint64_t{1} << 32}), "overflows");
    EXPECT_PARSE_ERROR(one({~uint64_t{0}, 2}), "overflows");
    EXPECT_PARSE_ERROR(one({uint64_t{1} << 62, 3}), "overflows");  // > 2^63 elements
    EXPECT_PARSE_ERROR(one({4, 0}), "tensor 'w' has a zero dimension (shape [4, 0])");
    EXPECT_PARSE_ERROR(one({1, 1, 1, 1, 1}), "tensor 'w' has 5 dimensions");
    EXPECT_PARSE_ERROR(one({}), "tensor 'w' has 0 dimensions");
    EXPECT_PARSE_ERROR(one({48}, 8), "ne[0] = 48 is not a multiple of the block size 32");
    // Elements fit, bytes do not: 2^62 f64 elements need 2^65 bytes.
    EXPECT_PARSE_ERROR(one({uint64_t{1} << 31, uint64_t{1} << 31}, 28), "byte size overflows");

    Bytes huge_dims;
    huge_dims.header(1, 0).str("w").put<uint32_t>(~uint32_t{0}).zeros(64);
    EXPECT_PARSE_ERROR(huge_dims.b, "tensor 'w' has 4294967295 dimensions");
}

TEST(GgufReader, RejectsBadTensorPlacement) {
    Bytes absurd;
    absurd.header(1, 0).tensor("w", {8}, 0, uint64_t{1} << 60).pad(32).zeros(32);
    EXPECT_PARSE_ERROR(absurd.b, "tensor 'w' data extends past end of file");
    EXPECT_PARSE_ERROR(absurd.b, "tensor offset 1152921504606846976");

    Bytes wrap;  // offset + data offset wraps around 2^64
    wrap.header(1, 0).tensor("w", {8}, 0, ~uint64_t{31}).pad(32).zeros(32);
    EXPECT_PARSE_ERROR(wrap.b, "extends past end of file");

    Bytes short_data;
    short_data.header(1, 0).tensor("w", {8}, 0, 0).pad(32).zeros(31);
    EXPECT_PARSE_ERROR(short_data.b, "truncated file: tensor 'w' data extends past end of file");

    Bytes mis;
    mis.header(1, 0).tensor("w", {8}, 0, 16).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(mis.b, "tensor 'w' offset 16 is not a multiple of the alignment 32");

    Bytes overlap;
    overlap.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(overlap.b, "tensors 'a' and 'b' overlap");

    Bytes dup;
    dup.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(dup.b, "duplicate tensor name 'w'");
}

TEST(GgufReader, RejectsBadMetadata) {
    Bytes dup;
    dup.header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2);
    EXPECT_PARSE_ERROR(dup.b, "duplicate metadata key 'a.b'");

    Bytes empty;
    empty.header(0, 1).kv_u32("", 1);
    EXPECT_PARSE_ERROR(empty.b, "metadata key 0 has an empty name");

    Bytes long_key;
    long_key.header(0, 1).kv_u32(std::string(70000, 'k'), 1);
    EXPECT_PARSE_ERROR(long_key.b, "metadata key 0 name is 70000 bytes long (limit 65535)");

    Bytes wrong_type;
    wrong_type.header(0, 1).str("general.alignment").put<uint32_t>(10).put<uint64_t>(64);
    EXPECT_PARSE_ERROR(wrong_type.b, "general.alignment has type u64 (expected u32)");
    for (uint32_t a : {0u, 3u, 96u}) {
        Bytes npot;
        npot.header(0, 1).kv_u32("general.alignment", a);
        EXPECT_PARSE_ERROR(npot.b, fmt::format("general.alignment {} is not a nonzero power", a));
    }

    // Nesting: kGgufMaxDepth array levels are fine, one more is not.
    auto nested = [](uint32_t levels) {
        Bytes b;
        b.header(0, 1).str("deep").put<uint32_t>(9);
        for (uint32_t i = 1; i < levels; ++i) b.put<uint32_t>(9).put<uint64_t>(1);
        b.put<uint32_t>(0).put<uint64_t>(1).put<uint8_t>(42);
        return b.b;
    };
    auto ok = GgufFile::parse(nested(kGgufMaxDepth));
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_PARSE_ERROR(nested(kGgufMaxDepth + 1), "arrays nested deeper than 8 levels");
    EXPECT_PARSE_ERROR(nested(100000), "arrays nested deeper than 8 levels");
}

TEST(GgufReader, HonoursAlignmentKey) {
    Bytes b;
    b.header(2, 1).kv_u32("general.alignment", 64);
    b.tensor("a", {8}, 0, 0).tensor("b", {8}, 0, 64).pad(64).zeros(96);
    auto f = GgufFile::parse(b.b);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->data_offset() % 64, 0u);

    Bytes mis;  // fine for 32, not for 64
    mis.header(1, 1).kv_u32("general.alignment", 64).tensor("a", {8}, 0, 32).pad(64).zeros(128);
    EXPECT_PARSE_ERROR(mis.b, "offset 32 is not a multiple of the alignment 64");
}

TEST(GgufReader, ValueToString) {
    using V = GgufValue;
    EXPECT_EQ(gguf_value_to_string(V::u32(42)), "42");
    EXPECT_EQ(gguf_value_to_string(V::i32(-3)), "-3");
    EXPECT_EQ(gguf_value_to_string(V::f32(0.5f)), "0.5");
    EXPECT_EQ(gguf_value_to_string(V::f32(1e-5f)), "1e-05");
    EXPECT_EQ(gguf_value_to_string(V::f64(0.1)), "0.1");
    EXPECT_EQ(gguf_value_to_string(V::boolean(true)), "true");
    EXPECT_EQ(gguf_value_to_string(V::str("a\"b\n")), "\"a\\\"b\\n\"");
    EXPECT_EQ(gguf_value_to_string(V::array(GgufType::U8, {})), "[]");
    std::vector<V> items;
    for (int i = 0; i < 10; ++i) items.push_back(V::u32(static_cast<uint32_t>(i)));
    EXPECT_EQ(gguf_value_to_string(V::array(GgufType::U32, items), 3),
              "[0, 1, 2, ...] (array of 10 u32)");
    EXPECT_EQ(gguf_value_to_string(V::array(GgufType::U32, items), 0), "[...] (array of 10 u32)");
    EXPECT_EQ(gguf_type_name(GgufType::STRING), "string");
    EXPECT_EQ(gguf_type_name(static_cast<GgufType>(99)), "unknown");
}

// Touches everything a parsed file points at, so that ASan sees any
// out-of-range pointer.
uint64_t touch_all(const GgufFile& f) {
    uint64_t sum = 0;
    for (const auto& kv : f.metadata()) sum += gguf_value_to_string(kv.value).size();
    for (const auto& t : f.tensors()) {
        sum += t.data[0] + t.data[t.n_bytes - 1];
        EXPECT_EQ(f.find_tensor(t.name), &t);
    }
    return sum;
}

TEST(GgufReader, RandomMutationsNeverCrash) {
    // Metadata of every kind, nested arrays and three tensor types, so that
    // flips land on every kind of field.
    Bytes base;
    base.header(3, 5);
    base.str("general.architecture").put<uint32_t>(8).str("llama");
    base.kv_u32("general.alignment", 32);
    base.str("f").put<uint32_t>(6).put<float>(1e-5f);
    base.str("toks").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(3).str("a").str("").str("bc");
    base.str("nest").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(2);
    base.put<uint32_t>(5).put<uint64_t>(2).put<int32_t>(-1).put<int32_t>(7);
    base.put<uint32_t>(7).put<uint64_t>(1).put<uint8_t>(1);
    base.tensor("a", {8, 2}, 0, 0).tensor("b", {32}, 8, 64).tensor("c", {4}, 1, 128).pad(32);
    for (int i = 0; i < 160; ++i) base.put<uint8_t>(static_cast<uint8_t>(i));
    auto parsed = GgufFile::parse(base.b);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    const size_t header_end = parsed->data_offset();

    std::mt19937_64 rng(12345);
    int n_ok = 0;
    for (int iter = 0; iter < 5000; ++iter) {
        std::vector<uint8_t> m = base.b;
        int n_flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < n_flips; ++k) {
            // Mostly the header and infos: flips in tensor data are harmless.
            size_t limit = (rng() % 8) ? header_end : m.size();
            size_t pos = rng() % limit;
            switch (rng() % 4) {
                case 0:
                    m[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
                    break;
                case 1:
                    m[pos] = static_cast<uint8_t>(rng());
                    break;
                case 2:
                    m[pos] = 0xff;
                    break;
                default:
                    m.resize(pos);
                    break;
            }
            if (m.empty()) break;
        }
        auto f = GgufFile::parse(m);
        if (f.ok()) {
            ++n_ok;
            touch_all(*f);
        } else {
            EXPECT_FALSE(f.error().message.empty());
        }
    }
    // Some mutations (of values, of tensor data) still parse; most do not.
    EXPECT_GT(n_ok, 0);
    EXPECT_LT(n_ok, 5000);
}

}  // namespace
}  // namespace ig
