// Hugging Face folders load as the GGUF they would convert to: a synthetic
// GGUF model written out as a folder (HF names and shapes, llama Q/K rows in
// HF's order) gives bit-identical logits, whatever way it stores tied
// embeddings or shards its weights; broken folders get clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "hf_folder_writer.h"
#include "model/hf_config.h"
#include "model/hf_folder.h"
#include "model/llama_model.h"
#include "model/safetensors_file.h"
#include "model_tools/synth.h"
#include "support/model_runner.h"
#include "support/test_support.h"

namespace ig {
namespace {

namespace fs = std::filesystem;

std::vector<float> logits_of(const std::string& path, ThreadPool& pool) {
    auto m = LlamaModel::load(path);
    if (!m.ok()) ADD_FAILURE() << m.error().message;
    if (!m.ok()) return {};
    test::KvArena kv(**m, 8, 16, DType::F32);
    const std::vector<int32_t> toks{1, 5, 9, 77, 3, 120, 42, 8, 250, 17};
    const auto table = kv.take(static_cast<int64_t>(toks.size()));
    return test::run_seq(**m, kv, pool, toks, 0, table, static_cast<int64_t>(toks.size()));
}

struct FolderCase {
    const char* preset;
    const char* type;
    test::TiedAs tied;
    int shards;
};

class HfFolderParity : public testing::TestWithParam<FolderCase> {};

TEST_P(HfFolderParity, LogitsEqualTheGgufPath) {
    const FolderCase& c = GetParam();
    test::TempDir dir;
    ThreadPool pool(2);
    const std::string gguf = dir.file("m.gguf");
    ASSERT_TRUE(synth_model(*synth_preset(c.preset), *dtype_from_name(c.type), 7, gguf, pool).ok());
    auto g = GgufFile::open(gguf);
    ASSERT_TRUE(g.ok());
    const std::string folder = dir.file("hf");
    fs::create_directory(folder);
    test::write_hf_folder(*g, folder, {c.tied, c.shards});
    const auto want = logits_of(gguf, pool);
    const auto got = logits_of(folder, pool);
    ASSERT_EQ(want.size(), got.size());
    ASSERT_FALSE(want.empty());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(want[i], got[i]) << "logit " << i;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, HfFolderParity,
    testing::Values(FolderCase{"tiny-llama", "f32", test::TiedAs::EmbedOnly, 1},
                    FolderCase{"tiny-llama", "f16", test::TiedAs::EmbedOnly, 3},
                    FolderCase{"tiny-llama", "bf16", test::TiedAs::EmbedOnly, 1},
                    FolderCase{"tiny-llama-tied", "f32", test::TiedAs::LmHeadOnly, 1},
                    FolderCase{"tiny-llama-tied", "f32", test::TiedAs::EmbedOnly, 1},
                    FolderCase{"tiny-llama-tied", "f32", test::TiedAs::Both, 2},
                    FolderCase{"tiny-qwen2", "f32", test::TiedAs::EmbedOnly, 1},
                    FolderCase{"tiny-qwen2-untied", "f16", test::TiedAs::EmbedOnly, 2},
                    FolderCase{"tiny-qwen3", "f32", test::TiedAs::LmHeadOnly, 1}),
    [](const testing::TestParamInfo<FolderCase>& i) {
        std::string s = std::string(i.param.preset) + "_" + i.param.type + "_tied" +
                        std::to_string(static_cast<int>(i.param.tied)) + "_shards" +
                        std::to_string(i.param.shards);
        for (auto& ch : s)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return s;
    });

// A folder made from tiny-llama (f32), for the error cases to break.
class HfFolderErrors : public testing::Test {
  protected:
    void SetUp() override {
        ThreadPool pool(1);
        ASSERT_TRUE(
            synth_model(*synth_preset("tiny-llama"), DType::F32, 7, dir_.file("m.gguf"), pool)
                .ok());
        auto g = GgufFile::open(dir_.file("m.gguf"));
        ASSERT_TRUE(g.ok());
        fs::create_directory(folder());
        test::write_hf_folder(*g, folder(), {test::TiedAs::EmbedOnly, 2});
    }
    std::string folder() const { return dir_.file("hf"); }
    std::string error() const {
        auto f = open_hf_folder(folder());
        EXPECT_FALSE(f.ok());
        return f.ok() ? std::string() : f.error().message;
    }
    nlohmann::json index() const {
        return nlohmann::json::parse(test::read_text(folder() + "/model.safetensors.index.json"));
    }
    void set_index(const nlohmann::json& j) const {
        test::write_text(folder() + "/model.safetensors.index.json", j.dump());
    }
    void patch_config(const nlohmann::json& patch) const {
        auto c = nlohmann::json::parse(test::read_text(folder() + "/config.json"));
        c.merge_patch(patch);
        test::write_text(folder() + "/config.json", c.dump());
    }
    test::TempDir dir_;
};

TEST_F(HfFolderErrors, ShardedFolderLoads) {
    auto f = open_hf_folder(folder());
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_NE((*f)->find_tensor("blk.1.attn_q.weight"), nullptr);
    EXPECT_EQ((*f)->get_string("general.architecture"), "llama");
}

TEST_F(HfFolderErrors, MissingShard) {
    fs::remove(folder() + "/model-00002-of-00002.safetensors");
    EXPECT_NE(error().find("shard 'model-00002-of-00002.safetensors'"), std::string::npos);
}

TEST_F(HfFolderErrors, IndexNamesATensorInTheWrongShard) {
    auto j = index();
    const std::string name = "model.layers.0.self_attn.q_proj.weight";
    const std::string was = j["weight_map"][name];
    j["weight_map"][name] = was == "model-00001-of-00002.safetensors"
                                ? "model-00002-of-00002.safetensors"
                                : "model-00001-of-00002.safetensors";
    set_index(j);
    EXPECT_NE(error().find(name), std::string::npos);
}

TEST_F(HfFolderErrors, IndexShardNameOutsideTheFolder) {
    auto j = index();
    j["weight_map"]["model.norm.weight"] = "../evil.safetensors";
    set_index(j);
    EXPECT_NE(error().find("not a .safetensors file name"), std::string::npos);
}

TEST_F(HfFolderErrors, TensorInTwoShards) {
    // Shard 2 written again with shard 1's tensors added.
    auto s1 = SafetensorsFile::open(folder() + "/model-00001-of-00002.safetensors");
    auto s2 = SafetensorsFile::open(folder() + "/model-00002-of-00002.safetensors");
    ASSERT_TRUE(s1.ok() && s2.ok());
    std::vector<test::StTensor> both;
    for (const auto* s : {&*s1, &*s2})
        for (const auto& t : s->tensors())
            both.push_back({t.name, std::string(st_dtype_name(t.dtype)), t.shape,
                            std::vector<uint8_t>(t.data.begin(), t.data.end())});
    test::write_bytes(folder() + "/model-00002-of-00002.safetensors", test::st_file(both));
    EXPECT_FALSE(error().empty());
}

TEST_F(HfFolderErrors, NoWeights) {
    fs::remove(folder() + "/model.safetensors.index.json");
    EXPECT_NE(error().find("no model.safetensors"), std::string::npos);
}

TEST_F(HfFolderErrors, UnsupportedConfigIsRefusedByName) {
    const std::pair<nlohmann::json, const char*> cases[] = {
        {{{"architectures", {"GemmaForCausalLM"}}}, "GemmaForCausalLM"},
        {{{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4}}}}, "yarn"},
        {{{"rope_scaling", {{"type", "dynamic"}, {"factor", 2}}}}, "dynamic"},
        {{{"sliding_window", 128}}, "sliding_window"},
        {{{"attention_bias", true}}, "attention_bias"},
        {{{"mlp_bias", true}}, "mlp_bias"},
        {{{"hidden_act", "gelu"}}, "hidden_act"},
        {{{"partial_rotary_factor", 0.5}}, "partial_rotary_factor"},
        {{{"num_attention_heads", "four"}}, "num_attention_heads"},
    };
    const std::string orig = test::read_text(folder() + "/config.json");
    for (const auto& [patch, phrase] : cases) {
        test::write_text(folder() + "/config.json", orig);
        patch_config(patch);
        EXPECT_NE(error().find(phrase), std::string::npos) << phrase << ": " << error();
    }
}

TEST_F(HfFolderErrors, UnknownTensorIsRefused) {
    auto s1 = SafetensorsFile::open(folder() + "/model-00001-of-00002.safetensors");
    ASSERT_TRUE(s1.ok());
    std::vector<test::StTensor> ts;
    for (const auto& t : s1->tensors())
        ts.push_back({t.name, std::string(st_dtype_name(t.dtype)), t.shape,
                      std::vector<uint8_t>(t.data.begin(), t.data.end())});
    ts.push_back(
        {"model.layers.0.self_attn.o_proj.bias", "F32", {64}, std::vector<uint8_t>(256, 0)});
    test::write_bytes(folder() + "/model-00001-of-00002.safetensors", test::st_file(ts));
    auto j = index();
    j["weight_map"]["model.layers.0.self_attn.o_proj.bias"] = "model-00001-of-00002.safetensors";
    set_index(j);
    EXPECT_NE(error().find("o_proj.bias"), std::string::npos);
}

TEST(HfConfig, Llama3RopeScalingBecomesRopeFreqs) {
    auto c = hf_config_from_json(R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,
        "num_hidden_layers":1,"intermediate_size":128,"num_attention_heads":4,"vocab_size":100,
        "rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":8.0,
        "low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}})");
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_EQ(c->rope_freqs.size(), 8u);
    EXPECT_EQ(c->rope_freqs.front(), 1.0f);  // high frequencies keep their wavelength
    EXPECT_EQ(c->rope_freqs.back(), 8.0f);   // low ones are scaled by the factor
}

TEST(HfConfig, QwenSlidingWindowOnlyCountsWhenUsed) {
    const std::string base = R"({"architectures":["Qwen2ForCausalLM"],"hidden_size":64,
        "num_hidden_layers":1,"intermediate_size":128,"num_attention_heads":4,"vocab_size":100,
        "max_position_embeddings":4096,"sliding_window":1024,"use_sliding_window":)";
    EXPECT_TRUE(hf_config_from_json(base + "false}").ok());
    EXPECT_FALSE(hf_config_from_json(base + "true}").ok());
}

}  // namespace
}  // namespace ig
