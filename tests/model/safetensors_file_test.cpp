// The safetensors reader: valid files, and a hostile set that must each get
// a clear error naming what is wrong (never a crash, never a silent load).
#include <gtest/gtest.h>

#include <cstring>

#include "hf_folder_writer.h"
#include "model/safetensors_file.h"
#include "support/test_support.h"

namespace ig {
namespace {

using test::st_bytes;
using test::st_file;
using test::StTensor;

std::vector<uint8_t> f32s(std::initializer_list<float> v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), std::data(v), b.size());
    return b;
}

std::vector<StTensor> two_tensors() {
    return {{"a", "F32", {2, 2}, f32s({1, 2, 3, 4})},
            {"b", "F16", {3}, std::vector<uint8_t>(6, 0)}};
}

std::string error_of(const std::vector<uint8_t>& bytes) {
    auto f = SafetensorsFile::parse(bytes);
    EXPECT_FALSE(f.ok());
    return f.ok() ? std::string() : f.error().message;
}

TEST(SafetensorsFile, ParsesTensorsAndMetadata) {
    auto bytes = st_file(two_tensors(), {{"format", "pt"}});
    auto f = SafetensorsFile::parse(bytes);
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_EQ(f->tensors().size(), 2u);
    const SafetensorsTensor* a = f->find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->dtype, StDType::F32);
    EXPECT_EQ(a->shape, (std::vector<uint64_t>{2, 2}));
    EXPECT_EQ(a->n_elements, 4u);
    float x[4];
    std::memcpy(x, a->data.data(), 16);
    EXPECT_EQ(x[3], 4.0f);
    EXPECT_EQ(f->find("b")->data.size(), 6u);
    EXPECT_EQ(f->find("c"), nullptr);
    EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(SafetensorsFile, KnowsEveryDtypeSize) {
    const std::pair<const char*, uint32_t> sizes[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},     {"I32", 4},
        {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (auto [name, size] : sizes) {
        auto t = st_dtype_from_name(name);
        ASSERT_TRUE(t) << name;
        EXPECT_EQ(st_dtype_bytes(*t), size) << name;
        EXPECT_EQ(st_dtype_name(*t), name);
        std::vector<StTensor> ts{{"x", name, {3}, std::vector<uint8_t>(3 * size, 0)}};
        EXPECT_TRUE(SafetensorsFile::parse(st_file(ts)).ok()) << name;
    }
}

TEST(SafetensorsFile, OpensAFileAndNamesItInErrors) {
    test::TempDir dir;
    test::write_bytes(dir.file("ok.safetensors"), st_file(two_tensors()));
    auto f = SafetensorsFile::open(dir.file("ok.safetensors"));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_NE(f->mapping(), nullptr);
    test::write_bytes(dir.file("bad.safetensors"), {1, 2, 3});
    auto bad = SafetensorsFile::open(dir.file("bad.safetensors"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("bad.safetensors"), std::string::npos);
    EXPECT_FALSE(SafetensorsFile::open(dir.file("missing.safetensors")).ok());
}

struct Hostile {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* expect;  // a phrase of the error
};

std::vector<Hostile> hostile_set() {
    std::vector<Hostile> h;
    const auto good = st_file(two_tensors());
    h.push_back({"empty", {}, "truncated"});
    h.push_back({"length cut", {8, 0, 0}, "truncated"});
    auto trunc = good;
    trunc.resize(trunc.size() - 3);
    h.push_back({"data cut short", trunc, "past the end"});
    auto past = good;
    const uint64_t huge = past.size();
    std::memcpy(past.data(), &huge, 8);
    h.push_back({"header length past EOF", past, "past the end of the file"});
    auto max = good;
    const uint64_t all_ones = ~uint64_t{0};
    std::memcpy(max.data(), &all_ones, 8);
    h.push_back({"header length 2^64-1", max, "past the end of the file"});
    std::vector<uint8_t> big(8 + (kSafetensorsMaxHeader + 16), ' ');
    const uint64_t big_n = kSafetensorsMaxHeader + 16;
    std::memcpy(big.data(), &big_n, 8);
    h.push_back({"huge header", big, "exceeds the limit"});
    h.push_back({"not JSON", st_bytes("{\"a\": ", {}), "not valid JSON"});
    h.push_back({"not an object", st_bytes("[1, 2]", {}), "not a JSON object"});
    h.push_back({"non-UTF-8", st_bytes("{\"\xff\xfe\": {}}", {}), "UTF-8"});
    h.push_back(
        {"deep nesting", st_bytes(std::string(200, '[') + std::string(200, ']'), {}), "nested"});
    // Overlap: b starts inside a.
    auto ts = two_tensors();
    h.push_back({"overlapping offsets",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                          R"("b":{"dtype":"F16","shape":[3],"data_offsets":[10,16]}})",
                          {ts[0]}),
                 "overlap"});
    h.push_back({"gap",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                          R"("b":{"dtype":"F16","shape":[3],"data_offsets":[18,24]}})",
                          {ts[0], ts[1], {"pad", "U8", {2}, {0, 0}}}),
                 "gap"});
    h.push_back({"trailing bytes",
                 st_bytes(test::st_header(ts).dump(), {ts[0], ts[1], {"x", "U8", {1}, {7}}}),
                 "belong to no tensor"});
    h.push_back({"wrong dtype size",
                 st_bytes(R"({"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,16]}})", {ts[0]}),
                 "needs 8"});
    h.push_back({"shape/offset mismatch",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", {ts[0]}),
                 "needs 24"});
    h.push_back(
        {"shape overflow",
         st_bytes(
             R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,16]}})",
             {ts[0]}),
         "overflows"});
    h.push_back(
        {"byte size overflow",
         st_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,16]}})",
                  {ts[0]}),
         "overflows"});
    h.push_back({"negative dim",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}})", {ts[0]}),
                 "negative"});
    h.push_back({"unknown dtype",
                 st_bytes(R"({"a":{"dtype":"F12","shape":[2,2],"data_offsets":[0,16]}})", {ts[0]}),
                 "unknown dtype 'F12'"});
    h.push_back({"duplicate names",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                          {ts[0]}),
                 "duplicate tensor name 'a'"});
    h.push_back({"end before begin",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})", {ts[0]}),
                 "end before begin"});
    h.push_back({"offsets not a pair",
                 st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", {ts[0]}),
                 "data_offsets"});
    h.push_back(
        {"unexpected field",
         st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"x":1}})", {ts[0]}),
         "unexpected field 'x'"});
    h.push_back(
        {"metadata not strings",
         st_bytes(
             R"({"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
             {ts[0]}),
         "__metadata__"});
    h.push_back(
        {"too many dims",
         st_bytes(R"({"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})",
                  {{"x", "U8", {1}, {1}}}),
         "dimensions"});
    return h;
}

TEST(SafetensorsFile, HostileInputsGetClearErrors) {
    for (const Hostile& h : hostile_set()) {
        SCOPED_TRACE(h.what);
        const std::string e = error_of(h.bytes);
        EXPECT_NE(e.find(h.expect), std::string::npos) << h.what << ": " << e;
    }
}

// Every prefix and many single-byte corruptions of a valid file: an error or
// a valid parse, never a crash (ASan/UBSan builds check the bounds).
TEST(SafetensorsFile, CutsAndFlipsNeverCrash) {
    const auto good = st_file(two_tensors(), {{"format", "pt"}});
    for (size_t n = 0; n < good.size(); ++n) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_FALSE(SafetensorsFile::parse(cut).ok()) << n;
    }
    for (size_t i = 0; i < good.size(); ++i)
        for (uint8_t x : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{'"'}, uint8_t{'9'}}) {
            auto b = good;
            b[i] = x;
            auto f = SafetensorsFile::parse(b);
            if (f.ok())
                for (const auto& t : f->tensors()) {
                    ASSERT_GE(t.data.data(), b.data());
                    ASSERT_LE(t.data.data() + t.data.size(), b.data() + b.size());
                }
        }
}

}  // namespace
}  // namespace ig
