#include "model_tools/inspect.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gguf/gguf.h"
#include "model_tools/synth.h"
#include "util/thread_pool.h"

namespace ig {
namespace {

namespace fs = std::filesystem;
using V = GgufValue;

class InspectTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ =
            fs::temp_directory_path() / fmt::format("ig_inspect_{}_{}", ::getpid(), info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        path_ = (dir_ / "tiny.gguf").string();

        GgufWriter w;
        w.set("general.architecture", V::str("llama"));
        w.set("general.name", V::str("tiny"));
        w.set("llama.context_length", V::u32(256));
        w.set("llama.embedding_length", V::u32(64));
        w.set("llama.block_count", V::u32(2));
        w.set("llama.attention.head_count", V::u32(8));
        w.set("llama.attention.head_count_kv", V::u32(4));
        w.set("llama.rope.freq_base", V::f32(10000.0f));
        w.set("llama.attention.layer_norm_rms_epsilon", V::f32(1e-5f));
        w.set("tokenizer.ggml.model", V::str("llama"));
        w.set("tokenizer.ggml.pre", V::str("default"));
        w.set("tokenizer.ggml.tokens",
              V::array(GgufType::STRING,
                       {V::str("<unk>"), V::str("<s>"), V::str("</s>"), V::str("a"), V::str("b")}));
        w.set("tokenizer.chat_template",
              V::str("{% for m in messages %}{{ m.content }}{% endfor %}"));
        auto zero = [](uint8_t*, uint64_t) {};
        ASSERT_TRUE(w.add_tensor("token_embd.weight", {64, 5}, DType::F32, zero).ok());
        ASSERT_TRUE(w.add_tensor("blk.0.attn_q.weight", {64, 64}, DType::Q8_0, zero).ok());
        auto s = w.write(path_);
        ASSERT_TRUE(s.ok()) << s.error().message;
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::string path_;
};

// 320 + 4096 parameters; 1280 + 64 rows * 2 blocks * 34 bytes.
constexpr uint64_t kParams = 4416;
constexpr uint64_t kBytes = 5632;

TEST_F(InspectTest, Text) {
    std::ostringstream out;
    auto s = run_inspect(path_, false, out);
    ASSERT_TRUE(s.ok()) << s.error().message;
    const std::string t = out.str();
    for (const char* want : {
             "gguf version: 3\n",
             "alignment: 32\n",
             "architecture: llama\n",
             "name: tiny\n",
             "  context_length: 256\n",
             "  embedding_length: 64\n",
             "  block_count: 2\n",
             "  attention.head_count: 8\n",
             "  attention.head_count_kv: 4\n",
             "  rope.freq_base: 10000\n",
             "  attention.layer_norm_rms_epsilon: 1e-05\n",
             "  model: llama\n",
             "  pre: default\n",
             "  vocab size: 5\n",
             "  chat template: present\n",
             "metadata: 13 keys\n",
             "tensors: 2\n",
             "parameters: 4416 (4.42 K)\n",
             "tensor bytes: 5632 (5.50 KiB)\n",
             "bits per weight: 10.20\n",
         }) {
        EXPECT_NE(t.find(want), std::string::npos) << "missing '" << want << "' in:\n" << t;
    }
    EXPECT_NE(t.find("token_embd.weight    [64, 5]   f32    1280\n"), std::string::npos) << t;
    EXPECT_NE(t.find("blk.0.attn_q.weight  [64, 64]  q8_0   4352\n"), std::string::npos) << t;
    // Absent hyperparameters are not shown.
    EXPECT_EQ(t.find("feed_forward_length"), std::string::npos);
    auto f = GgufFile::open(path_);
    ASSERT_TRUE(f.ok());
    EXPECT_NE(t.find(fmt::format("data offset: {}\n", f->data_offset())), std::string::npos);
}

TEST_F(InspectTest, Json) {
    std::ostringstream out;
    auto s = run_inspect(path_, true, out);
    ASSERT_TRUE(s.ok()) << s.error().message;
    nlohmann::json j = nlohmann::json::parse(out.str(), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out.str();
    EXPECT_EQ(j["path"], path_);
    EXPECT_EQ(j["version"], 3);
    EXPECT_EQ(j["alignment"], 32);
    EXPECT_EQ(j["file_size"], fs::file_size(path_));
    EXPECT_EQ(j["architecture"], "llama");
    EXPECT_EQ(j["name"], "tiny");
    const auto& hp = j["hyperparameters"];
    EXPECT_EQ(hp["context_length"], 256);
    EXPECT_EQ(hp["attention.head_count_kv"], 4);
    EXPECT_EQ(hp["rope.freq_base"], 10000.0);
    EXPECT_EQ(hp["attention.layer_norm_rms_epsilon"], 1e-5);
    EXPECT_FALSE(hp.contains("feed_forward_length"));
    EXPECT_EQ(j["tokenizer"]["model"], "llama");
    EXPECT_EQ(j["tokenizer"]["pre"], "default");
    EXPECT_EQ(j["tokenizer"]["vocab_size"], 5);
    EXPECT_EQ(j["tokenizer"]["has_chat_template"], true);
    ASSERT_EQ(j["tensors"].size(), 2u);
    EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
    EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json({64, 5}));
    EXPECT_EQ(j["tensors"][1]["type"], "q8_0");
    EXPECT_EQ(j["tensors"][1]["bytes"], 4352);
    EXPECT_EQ(j["tensor_count"], 2);
    EXPECT_EQ(j["parameter_count"], kParams);
    EXPECT_EQ(j["tensor_bytes"], kBytes);
    EXPECT_NEAR(j["bits_per_weight"].get<double>(), 8.0 * kBytes / kParams, 1e-9);
    ASSERT_EQ(j["metadata"].size(), 13u);
    EXPECT_EQ(j["metadata"][0]["key"], "general.architecture");
    EXPECT_EQ(j["metadata"][11]["type"], "array[string]");
    EXPECT_EQ(j["metadata"][11]["value"]["length"], 5);
}

TEST_F(InspectTest, FileWithoutModelKeys) {
    GgufWriter w;
    w.set("x", V::str("bad utf-8: \xff\xfe"));
    const std::string p = (dir_ / "bare.gguf").string();
    ASSERT_TRUE(w.write(p).ok());
    std::ostringstream text, js;
    ASSERT_TRUE(run_inspect(p, false, text).ok());
    EXPECT_NE(text.str().find("architecture: (none)\n"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("vocab size: (none)\n"), std::string::npos);
    EXPECT_NE(text.str().find("chat template: absent\n"), std::string::npos);
    EXPECT_NE(text.str().find("bits per weight: 0.00\n"), std::string::npos);
    ASSERT_TRUE(run_inspect(p, true, js).ok());
    auto j = nlohmann::json::parse(js.str(), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << js.str();
    EXPECT_TRUE(j["architecture"].is_null());
    EXPECT_TRUE(j["tokenizer"]["vocab_size"].is_null());
    EXPECT_EQ(j["tensor_count"], 0);
}

TEST_F(InspectTest, ReportsBadFiles) {
    std::ostringstream out;
    auto s = run_inspect((dir_ / "missing.gguf").string(), false, out);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("missing.gguf"), std::string::npos);
    fs::resize_file(path_, 100);
    s = run_inspect(path_, true, out);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("truncated"), std::string::npos) << s.error().message;
    EXPECT_TRUE(out.str().empty());
}

// Qwen3's head dimension is not embedding_length / head_count: inspect shows
// attention.key_length.
TEST(Inspect, Qwen3HeadDim) {
    const fs::path dir = fs::temp_directory_path() / fmt::format("ig_inspect_q3_{}", ::getpid());
    fs::create_directories(dir);
    const std::string path = (dir / "q3.gguf").string();
    ThreadPool pool(1);
    ASSERT_TRUE(synth_model(*synth_preset("tiny-qwen3"), DType::F32, 1, path, pool).ok());
    std::ostringstream js, text;
    ASSERT_TRUE(run_inspect(path, true, js).ok());
    ASSERT_TRUE(run_inspect(path, false, text).ok());
    fs::remove_all(dir);
    auto j = nlohmann::json::parse(js.str());
    EXPECT_EQ(j["architecture"], "qwen3");
    EXPECT_EQ(j["hyperparameters"]["attention.key_length"], 32);
    EXPECT_EQ(j["hyperparameters"]["attention.value_length"], 32);
    EXPECT_EQ(j["hyperparameters"]["embedding_length"], 64);
    EXPECT_NE(text.str().find("architecture: qwen3\n"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("  attention.key_length: 32\n"), std::string::npos) << text.str();
}

TEST(Inspect, RealModel) {
    const char* env = std::getenv("IG_SHARED_DIR");
    const std::string path = std::string(env ? env : IG_SHARED_DIR) + "/models/stories260K.gguf";
    if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
    std::ostringstream out;
    auto s = run_inspect(path, true, out);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto j = nlohmann::json::parse(out.str());
    EXPECT_EQ(j["architecture"], "llama");
    EXPECT_EQ(j["tokenizer"]["vocab_size"], 512);
    EXPECT_EQ(j["hyperparameters"]["embedding_length"], 64);
    EXPECT_GT(j["parameter_count"].get<uint64_t>(), 200000u);
}

}  // namespace
}  // namespace ig
