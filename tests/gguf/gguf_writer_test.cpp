#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "gguf/gguf.h"
#include "tensor/half.h"

namespace ig {
namespace {

namespace fs = std::filesystem;

class GgufWriterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = fmt::format("ig_gguf_writer_{}_{}_{}", ::getpid(),
                                       info->test_suite_name(), info->name());
        for (auto& c : name)
            if (c == '/') c = '_';  // parameterized test names contain '/'
        dir_ = fs::temp_directory_path() / name;
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    fs::path dir_;
};

std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

GgufWriter::FillFn fill_bytes(std::vector<uint8_t> bytes) {
    return [bytes = std::move(bytes)](uint8_t* dst, uint64_t n) {
        ASSERT_EQ(n, bytes.size());
        std::memcpy(dst, bytes.data(), n);
    };
}

// Every value type, nesting, and the edge values of each width.
std::vector<GgufKV> all_types_metadata() {
    using V = GgufValue;
    return {
        {"t.u8", V::u8(255)},
        {"t.i8", V::i8(-128)},
        {"t.u16", V::u16(65535)},
        {"t.i16", V::i16(-32768)},
        {"t.u32", V::u32(4000000000u)},
        {"t.i32", V::i32(std::numeric_limits<int32_t>::min())},
        {"t.f32", V::f32(1.5f)},
        {"t.bool_true", V::boolean(true)},
        {"t.bool_false", V::boolean(false)},
        {"t.string", V::str("héllo \"world\"\n")},
        {"t.empty_string", V::str("")},
        {"t.u64", V::u64(std::numeric_limits<uint64_t>::max())},
        {"t.i64", V::i64(std::numeric_limits<int64_t>::min())},
        {"t.f64", V::f64(3.141592653589793)},
        {"t.empty_array", V::array(GgufType::I32, {})},
        {"t.array_u8", V::array(GgufType::U8, {V::u8(0), V::u8(1), V::u8(200)})},
        {"t.array_str", V::array(GgufType::STRING, {V::str("a"), V::str(""), V::str("ccc")})},
        {"t.array_f32", V::array(GgufType::F32, {V::f32(-0.25f), V::f32(1e30f)})},
        {"t.array_bool", V::array(GgufType::BOOL, {V::boolean(true), V::boolean(false)})},
        {"t.nested",
         V::array(GgufType::ARRAY,
                  {V::array(GgufType::U32, {V::u32(1), V::u32(2)}), V::array(GgufType::STRING, {}),
                   V::array(GgufType::ARRAY, {V::array(GgufType::I64, {V::i64(-7)})})})},
    };
}

void expect_same_value(const GgufValue& a, const GgufValue& b, const std::string& where) {
    ASSERT_EQ(a.type, b.type) << where;
    ASSERT_EQ(a.v.index(), b.v.index()) << where;
    if (const auto* x = std::get_if<GgufArray>(&a.v)) {
        const auto& y = std::get<GgufArray>(b.v);
        ASSERT_EQ(x->elem_type, y.elem_type) << where;
        ASSERT_EQ(x->items.size(), y.items.size()) << where;
        for (size_t i = 0; i < x->items.size(); ++i)
            expect_same_value(x->items[i], y.items[i], fmt::format("{}[{}]", where, i));
    } else if (const auto* d = std::get_if<double>(&a.v)) {
        EXPECT_EQ(*d, std::get<double>(b.v)) << where;
    } else {
        // Scalars and strings: the printed forms are exact for these.
        EXPECT_EQ(gguf_value_to_string(a, 0), gguf_value_to_string(b, 0)) << where;
        if (const auto* s = std::get_if<std::string>(&a.v)) {
            EXPECT_EQ(*s, std::get<std::string>(b.v)) << where;
        }
    }
}

TEST_F(GgufWriterTest, RoundTripsEveryMetadataType) {
    GgufWriter w;
    auto kvs = all_types_metadata();
    for (const auto& kv : kvs) w.set(kv.key, kv.value);
    ASSERT_TRUE(w.write(path("m.gguf")).ok());

    auto f = GgufFile::open(path("m.gguf"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->find("general.alignment"), nullptr);  // default alignment is not written
    ASSERT_EQ(f->metadata().size(), kvs.size());
    for (size_t i = 0; i < kvs.size(); ++i) {
        EXPECT_EQ(f->metadata()[i].key, kvs[i].key);  // order as set
        expect_same_value(f->metadata()[i].value, kvs[i].value, kvs[i].key);
    }
    EXPECT_TRUE(f->tensors().empty());

    // Typed accessors.
    EXPECT_EQ(f->get_int("t.u8"), 255);
    EXPECT_EQ(f->get_int("t.i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f->get_int("t.u64"), std::nullopt);  // does not fit int64
    EXPECT_EQ(f->get_int("t.string"), std::nullopt);
    EXPECT_EQ(f->get_float("t.f32"), 1.5);
    EXPECT_EQ(f->get_float("t.u32"), 4000000000.0);
    EXPECT_EQ(f->get_bool("t.bool_true"), true);
    EXPECT_EQ(f->get_bool("t.u8"), std::nullopt);
    EXPECT_EQ(f->get_string("t.empty_string"), "");
    EXPECT_EQ(f->get_string("t.string"), "héllo \"world\"\n");
    EXPECT_EQ(f->get_string("missing"), std::nullopt);
    ASSERT_NE(f->get_array("t.nested"), nullptr);
    EXPECT_EQ(f->get_array("t.nested")->items.size(), 3u);
    EXPECT_EQ(f->get_array("t.empty_array")->items.size(), 0u);
    EXPECT_EQ(f->get_array("t.empty_array")->elem_type, GgufType::I32);
    EXPECT_EQ(f->get_array("t.u8"), nullptr);
}

TEST_F(GgufWriterTest, ExactBytesOfASmallFile) {
    // Checked against the format by hand, not against our own reader.
    GgufWriter w;
    w.set("a", GgufValue::u32(7));
    ASSERT_TRUE(w.write(path("s.gguf")).ok());
    std::vector<uint8_t> want = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0,  // magic, version 3
        0,   0,   0,   0,   0, 0, 0, 0,  // 0 tensors
        1,   0,   0,   0,   0, 0, 0, 0,  // 1 kv
        1,   0,   0,   0,   0, 0, 0, 0,  // key length
        'a', 4,   0,   0,   0,           // key, type u32
        7,   0,   0,   0,                // value
    };
    want.resize(64, 0);  // padded to the 32-byte alignment
    EXPECT_EQ(read_all(path("s.gguf")), want);
}

TEST_F(GgufWriterTest, SetReplacesExistingKeyInPlace) {
    GgufWriter w;
    w.set("a", GgufValue::u32(1));
    w.set("b", GgufValue::u32(2));
    w.set("a", GgufValue::str("x"));
    ASSERT_TRUE(w.write(path("r.gguf")).ok());
    auto f = GgufFile::open(path("r.gguf"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_EQ(f->metadata().size(), 2u);
    EXPECT_EQ(f->metadata()[0].key, "a");
    EXPECT_EQ(f->get_string("a"), "x");
    EXPECT_EQ(f->get_int("b"), 2);
}

class GgufWriterAlignmentTest : public GgufWriterTest,
                                public ::testing::WithParamInterface<uint32_t> {};

TEST_P(GgufWriterAlignmentTest, TensorsRoundTrip) {
    const uint32_t align = GetParam();
    // F32 [3, 2]: 24 bytes, so the next tensor needs padding.
    std::vector<uint8_t> f32(24);
    for (int i = 0; i < 6; ++i) {
        float x = 0.5f * static_cast<float>(i) - 1.0f;
        std::memcpy(&f32[i * 4], &x, 4);
    }
    // F16 [5]: 10 bytes.
    std::vector<uint8_t> f16(10);
    for (int i = 0; i < 5; ++i) {
        uint16_t h = f32_to_f16(static_cast<float>(i) * 0.25f);
        std::memcpy(&f16[i * 2], &h, 2);
    }
    // Q8_0 [64, 3]: 2 blocks of 34 bytes per row.
    std::vector<uint8_t> q8(3 * 2 * 34);
    for (size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<uint8_t>(i * 7 + 3);

    GgufWriter w;
    w.set("general.architecture", GgufValue::str("llama"));
    ASSERT_TRUE(w.add_tensor("a.f32", {3, 2}, DType::F32, fill_bytes(f32)).ok());
    ASSERT_TRUE(w.add_tensor("b.f16", {5}, DType::F16, fill_bytes(f16)).ok());
    ASSERT_TRUE(w.add_tensor("c.q8", {64, 3}, DType::Q8_0, fill_bytes(q8)).ok());
    ASSERT_TRUE(w.write(path("t.gguf"), align).ok());

    auto f = GgufFile::open(path("t.gguf"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->alignment(), align);
    if (align == 32)
        EXPECT_EQ(f->find("general.alignment"), nullptr);
    else
        EXPECT_EQ(f->get_int("general.alignment"), align);
    EXPECT_EQ(f->data_offset() % align, 0u);
    ASSERT_EQ(f->tensors().size(), 3u);

    struct Want {
        const char* name;
        std::vector<uint64_t> shape;
        DType type;
        uint64_t n_elements;
        const std::vector<uint8_t>* bytes;
    };
    const Want want[] = {{"a.f32", {3, 2}, DType::F32, 6, &f32},
                         {"b.f16", {5}, DType::F16, 5, &f16},
                         {"c.q8", {64, 3}, DType::Q8_0, 192, &q8}};
    uint64_t prev_end = 0;
    for (size_t i = 0; i < 3; ++i) {
        const GgufTensorInfo& t = f->tensors()[i];
        EXPECT_EQ(t.name, want[i].name);
        EXPECT_EQ(t.shape, want[i].shape);
        EXPECT_EQ(t.type, want[i].type);
        EXPECT_EQ(t.n_elements, want[i].n_elements);
        ASSERT_EQ(t.n_bytes, want[i].bytes->size());
        EXPECT_EQ(t.offset % align, 0u);
        EXPECT_GE(t.offset, prev_end);
        prev_end = t.offset + t.n_bytes;
        EXPECT_EQ(std::memcmp(t.data, want[i].bytes->data(), t.n_bytes), 0) << t.name;
        EXPECT_EQ(f->find_tensor(want[i].name), &t);
    }
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
    // Padding after the last tensor too.
    EXPECT_EQ(f->file_size() % align, 0u);
    EXPECT_EQ(f->file_size(), f->data_offset() + (prev_end + align - 1) / align * align);

    // First F16 element decodes back.
    uint16_t h;
    std::memcpy(&h, f->find_tensor("b.f16")->data + 2, 2);
    EXPECT_EQ(f16_to_f32(h), 0.25f);
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufWriterAlignmentTest, ::testing::Values(32u, 64u, 8192u));

TEST_F(GgufWriterTest, UserAlignmentKeyChoosesLayout) {
    GgufWriter w;
    w.set("general.alignment", GgufValue::u32(128));
    ASSERT_TRUE(w.add_tensor("x", {4}, DType::F32, fill_bytes(std::vector<uint8_t>(16, 1))).ok());
    ASSERT_TRUE(w.add_tensor("y", {4}, DType::F32, fill_bytes(std::vector<uint8_t>(16, 2))).ok());
    ASSERT_TRUE(w.write(path("a.gguf")).ok());
    auto f = GgufFile::open(path("a.gguf"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->alignment(), 128u);
    EXPECT_EQ(f->find_tensor("y")->offset, 128u);
    EXPECT_EQ(f->metadata().size(), 1u);  // not written twice
    EXPECT_EQ(f->find_tensor("y")->data[15], 2);

    auto conflict = w.write(path("b.gguf"), 64);
    ASSERT_FALSE(conflict.ok());
    EXPECT_NE(conflict.error().message.find("general.alignment is 128"), std::string::npos);

    GgufWriter bad;
    bad.set("general.alignment", GgufValue::u64(64));
    auto s = bad.write(path("c.gguf"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("must be a u32"), std::string::npos);
}

TEST_F(GgufWriterTest, RejectsBadAlignment) {
    GgufWriter w;
    for (uint32_t a : {0u, 3u, 48u}) {
        auto s = w.write(path("x.gguf"), a);
        ASSERT_FALSE(s.ok()) << a;
        EXPECT_NE(s.error().message.find("power of two"), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(path("x.gguf")));
}

TEST_F(GgufWriterTest, AddTensorValidates) {
    GgufWriter w;
    auto fill = fill_bytes({});
    auto msg = [&](std::string name, std::vector<uint64_t> shape, DType type,
                   GgufWriter::FillFn fn) {
        auto s = w.add_tensor(std::move(name), std::move(shape), type, std::move(fn));
        return s.ok() ? std::string("ok") : s.error().message;
    };
    EXPECT_EQ(msg("ok", {32, 2}, DType::Q8_0, fill), "ok");
    EXPECT_NE(msg("ok", {4}, DType::F32, fill).find("duplicate tensor name 'ok'"),
              std::string::npos);
    EXPECT_NE(msg("", {4}, DType::F32, fill).find("empty"), std::string::npos);
    EXPECT_NE(msg("z", {4, 0}, DType::F32, fill).find("zero dimension"), std::string::npos);
    EXPECT_NE(msg("d", {}, DType::F32, fill).find("0 dimensions"), std::string::npos);
    EXPECT_NE(msg("d", {1, 1, 1, 1, 1}, DType::F32, fill).find("5 dimensions"), std::string::npos);
    EXPECT_NE(msg("q", {48}, DType::Q8_0, fill).find("not a multiple of the block size 32"),
              std::string::npos);
    EXPECT_NE(msg("u", {4}, static_cast<DType>(99), fill).find("unknown type id 99"),
              std::string::npos);
    EXPECT_NE(msg("o", {uint64_t{1} << 40, uint64_t{1} << 40}, DType::F32, fill).find("overflow"),
              std::string::npos);
    EXPECT_NE(msg("n", {4}, DType::F32, nullptr).find("no fill"), std::string::npos);
    // Any known type is accepted, computable or not.
    EXPECT_EQ(msg("k", {256}, DType::Q4_K, fill), "ok");
}

TEST_F(GgufWriterTest, RejectsInconsistentValues) {
    struct Case {
        GgufValue v;
        const char* expect;
    };
    const Case cases[] = {
        {GgufValue{GgufType::U8, uint64_t{256}}, "256 is out of range"},
        {GgufValue{GgufType::I16, int64_t{40000}}, "40000 is out of range"},
        {GgufValue{GgufType::U32, std::string("x")}, "does not hold an unsigned integer"},
        {GgufValue{GgufType::STRING, uint64_t{1}}, "does not hold a string"},
        {GgufValue::array(GgufType::U32, {GgufValue::str("x")}), "array of u32 holds a string"},
        {GgufValue{static_cast<GgufType>(13), uint64_t{1}}, "unknown value type 13"},
    };
    for (const auto& c : cases) {
        GgufWriter w;
        w.set("k", c.v);
        auto s = w.write(path("v.gguf"));
        ASSERT_FALSE(s.ok()) << c.expect;
        EXPECT_NE(s.error().message.find(c.expect), std::string::npos) << s.error().message;
        EXPECT_NE(s.error().message.find("'k'"), std::string::npos) << s.error().message;
        EXPECT_FALSE(fs::exists(path("v.gguf")));
        EXPECT_FALSE(fs::exists(path("v.gguf.tmp")));
    }
    {
        GgufWriter w;
        w.set(std::string(70000, 'k'), GgufValue::u8(1));
        auto s = w.write(path("long.gguf"));
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.error().message.find("70000 bytes long"), std::string::npos);
    }
    // Nesting past the limit.
    GgufValue v = GgufValue::array(GgufType::U8, {});
    for (uint32_t i = 0; i < kGgufMaxDepth; ++i) v = GgufValue::array(GgufType::ARRAY, {v});
    GgufWriter w;
    w.set("deep", v);
    auto s = w.write(path("d.gguf"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("nested deeper"), std::string::npos);
}

TEST_F(GgufWriterTest, ReportsIoErrors) {
    GgufWriter w;
    w.set("a", GgufValue::u32(1));
    auto s = w.write(path("no/such/dir/x.gguf"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("No such file or directory"), std::string::npos)
        << s.error().message;
    EXPECT_NE(s.error().message.find("x.gguf.tmp"), std::string::npos);

    // The target is a directory: the rename fails and the temp file is removed.
    fs::create_directories(path("isdir.gguf") + "/child");
    s = w.write(path("isdir.gguf"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("cannot rename"), std::string::npos) << s.error().message;
    EXPECT_FALSE(fs::exists(path("isdir.gguf.tmp")));

    // Disk full, where the kernel offers a device that always is.
    if (::access("/dev/full", W_OK) == 0) {
        fs::create_symlink("/dev/full", path("full.gguf.tmp"));
        s = w.write(path("full.gguf"));
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.error().message.find("No space left on device"), std::string::npos)
            << s.error().message;
    }
}

TEST_F(GgufWriterTest, FillFailureLeavesNoFile) {
    GgufWriter w;
    ASSERT_TRUE(w.add_tensor("x", {4}, DType::F32, [](uint8_t*, uint64_t) {
                     throw std::runtime_error("source tensor unreadable");
                 }).ok());
    auto s = w.write(path("f.gguf"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("source tensor unreadable"), std::string::npos);
    EXPECT_FALSE(fs::exists(path("f.gguf")));
    EXPECT_FALSE(fs::exists(path("f.gguf.tmp")));
}

TEST_F(GgufWriterTest, OverwritesExistingFileAtomically) {
    {
        std::ofstream old(path("o.gguf"));
        old << "old contents";
    }
    GgufWriter w;
    w.set("a", GgufValue::u32(1));
    ASSERT_TRUE(w.write(path("o.gguf")).ok());
    auto f = GgufFile::open(path("o.gguf"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->get_int("a"), 1);
    EXPECT_FALSE(fs::exists(path("o.gguf.tmp")));
}

}  // namespace
}  // namespace ig
