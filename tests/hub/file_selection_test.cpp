// Which files `pull REPO[:FILE]` picks from a hub listing.
#include <gtest/gtest.h>

#include "hub/file_selection.h"
#include "hub/pull.h"

namespace ig::hub {
namespace {

RemoteFile file(const std::string& path, int64_t size = 10) {
    return RemoteFile{path, size, std::string(40, 'a'), std::string(64, 'b')};
}

std::vector<std::string> paths(const Selection& s) {
    std::vector<std::string> r;
    for (const RemoteFile& f : s.files) r.push_back(f.path);
    return r;
}

const std::vector<RemoteFile> kGgufRepo = {
    file("README.md"),
    file("Model-7B-Q4_K_M.gguf"),
    file("Model-7B-Q4_K_S.gguf"),
    file("Model-7B-q8_0.gguf"),
    file("Model-7B-F16.gguf"),
    file("mmproj-Model-7B-f16.gguf"),
    file("IQ2/Model-7B-IQ2_XS.gguf"),
};

TEST(HubSelection, QuantTagPicksTheOneGgufCaseInsensitive) {
    auto s = select_files(kGgufRepo, "o/m", "q4_k_m");
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(paths(*s), std::vector<std::string>{"Model-7B-Q4_K_M.gguf"});
    EXPECT_FALSE(s->folder);
    auto q8 = select_files(kGgufRepo, "o/m", "Q8_0");
    ASSERT_TRUE(q8.ok());
    EXPECT_EQ(paths(*q8), std::vector<std::string>{"Model-7B-q8_0.gguf"});
    // The projector's F16 is not a candidate.
    auto f16 = select_files(kGgufRepo, "o/m", "F16");
    ASSERT_TRUE(f16.ok()) << f16.error().message;
    EXPECT_EQ(paths(*f16), std::vector<std::string>{"Model-7B-F16.gguf"});
    // Files in sub-folders count, by their base name.
    auto iq2 = select_files(kGgufRepo, "o/m", "IQ2_XS");
    ASSERT_TRUE(iq2.ok());
    EXPECT_EQ(paths(*iq2), std::vector<std::string>{"IQ2/Model-7B-IQ2_XS.gguf"});
}

TEST(HubSelection, AmbiguousOrMissingQuantListsTheCandidates) {
    auto amb = select_files(kGgufRepo, "o/m", "Q4_K");
    ASSERT_FALSE(amb.ok());
    EXPECT_NE(amb.error().message.find("Model-7B-Q4_K_M.gguf"), std::string::npos);
    EXPECT_NE(amb.error().message.find("Model-7B-Q4_K_S.gguf"), std::string::npos);
    EXPECT_EQ(amb.error().message.find("q8_0"), std::string::npos) << amb.error().message;
    auto none = select_files(kGgufRepo, "o/m", "Q3_K_L");
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, ErrorCode::NotFound);
    EXPECT_NE(none.error().message.find("Model-7B-q8_0.gguf"), std::string::npos);
    EXPECT_NE(none.error().message.find("IQ2/Model-7B-IQ2_XS.gguf"), std::string::npos);
}

TEST(HubSelection, ExactPathPicksThatFile) {
    auto s = select_files(kGgufRepo, "o/m", "IQ2/Model-7B-IQ2_XS.gguf");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(paths(*s), std::vector<std::string>{"IQ2/Model-7B-IQ2_XS.gguf"});
    auto readme = select_files(kGgufRepo, "o/m", "README.md");
    ASSERT_TRUE(readme.ok());
    auto missing = select_files(kGgufRepo, "o/m", "other.gguf");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("Model-7B-F16.gguf"), std::string::npos);
}

TEST(HubSelection, GgufOnlyRepoWithoutFileAsksForAQuant) {
    auto s = select_files(kGgufRepo, "o/m", "");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("o/m:Q4_K_M"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("Model-7B-Q4_K_S.gguf"), std::string::npos);
    // One GGUF file leaves nothing to ask.
    auto one = select_files({file("README.md"), file("only-Q8_0.gguf")}, "o/m", "");
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(paths(*one), std::vector<std::string>{"only-Q8_0.gguf"});
    auto empty = select_files({file("README.md")}, "o/m", "");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, ErrorCode::NotFound);
}

TEST(HubSelection, SafetensorsRepoGivesTheModelFolderWithoutDuplicates) {
    const std::vector<RemoteFile> repo = {
        file(".gitattributes"),
        file("README.md"),
        file("config.json"),
        file("generation_config.json"),
        file("tokenizer.json"),
        file("tokenizer_config.json"),
        file("special_tokens_map.json"),
        file("chat_template.jinja"),
        file("model-00001-of-00002.safetensors"),
        file("model-00002-of-00002.safetensors"),
        file("model.safetensors.index.json"),
        file("pytorch_model.bin"),
        file("model.onnx"),
        file("flax_model.msgpack"),
        file("tf_model.h5"),
        file("training_args.pt"),
        file("onnx/model.safetensors"),
        file("original/consolidated.safetensors"),
    };
    auto s = select_files(repo, "o/m", "");
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(s->folder);
    EXPECT_EQ(paths(*s), (std::vector<std::string>{
                             "config.json", "generation_config.json", "tokenizer.json",
                             "tokenizer_config.json", "special_tokens_map.json",
                             "chat_template.jinja", "model-00001-of-00002.safetensors",
                             "model-00002-of-00002.safetensors", "model.safetensors.index.json"}));
}

TEST(HubSelection, IndexKeepsOnlyItsShards) {
    const std::vector<RemoteFile> files = {file("config.json"), file("consolidated.safetensors"),
                                           file("model-00001-of-00002.safetensors"),
                                           file("model-00002-of-00002.safetensors"),
                                           file("model.safetensors.index.json")};
    const std::string index = R"({"metadata": {}, "weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
        "c": "model-00001-of-00002.safetensors"}})";
    auto kept = keep_indexed_shards(files, index);
    ASSERT_TRUE(kept.ok()) << kept.error().message;
    ASSERT_EQ(kept->size(), 4u);
    for (const RemoteFile& f : *kept) EXPECT_NE(f.path, "consolidated.safetensors");
    auto missing = keep_indexed_shards(files, R"({"weight_map": {"a": "model-9.safetensors"}})");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("model-9.safetensors"), std::string::npos);
    EXPECT_FALSE(keep_indexed_shards(files, "[]").ok());
}

TEST(HubSelection, UnsafePathsFromTheHubAreRefused) {
    EXPECT_TRUE(safe_repo_path("a/b.gguf"));
    for (const char* p : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", "a/"})
        EXPECT_FALSE(safe_repo_path(p)) << p;
    auto s = select_files({file("ok.gguf"), file("../../evil.gguf")}, "o/m", "ok.gguf");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("unsafe"), std::string::npos);
}

TEST(HubSpec, ParsesRepoFileAndHfUris) {
    auto a = parse_pull_spec("bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->repo, "bartowski/Llama-3.2-1B-Instruct-GGUF");
    EXPECT_EQ(a->file, "Q4_K_M");
    auto b = parse_pull_spec("Qwen/Qwen2.5-0.5B-Instruct");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->file, "");
    auto c = parse_pull_spec("o/m:sub/dir/x.gguf");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->file, "sub/dir/x.gguf");
    EXPECT_TRUE(parse_pull_spec("gpt2").ok());
    for (const char* bad : {"", "o/m:", "o/", "/m", "o/m/x", "o m/x", "../m", "o/..", "-o/m"})
        EXPECT_FALSE(parse_pull_spec(bad).ok()) << bad;

    EXPECT_TRUE(is_hub_uri("hf://o/m"));
    EXPECT_FALSE(is_hub_uri("models/x.gguf"));
    auto u = parse_hub_uri("hf://o/m:Q8_0");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->repo, "o/m");
    EXPECT_EQ(u->file, "Q8_0");
    EXPECT_FALSE(parse_hub_uri("o/m").ok());
    EXPECT_FALSE(parse_hub_uri("hf://").ok());
    EXPECT_EQ(repo_folder_name("o/m"), "o--m");
    EXPECT_EQ(repo_folder_name("gpt2"), "gpt2");
}

}  // namespace
}  // namespace ig::hub
