// `infergrid chat-template` end to end.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gguf/gguf.h"
#include "support/test_support.h"

namespace ig {
namespace {

// The CLI reads the template and the BOS/EOS text from GGUF metadata and prints
// exactly what ChatTemplate renders, with no newline added.
TEST(ChatTemplateCli, RendersFromGgufMetadataAndTemplateFile) {
    const std::string src =
        "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% "
        "endfor %}"
        "{% if tools %}[{{ tools | length }} tools]{% endif %}{% if add_generation_prompt "
        "%}<|assistant|>{% endif %}";
    test::TempDir dir;
    GgufWriter w;
    w.set("tokenizer.chat_template", GgufValue::str(src));
    w.set("tokenizer.ggml.tokens",
          GgufValue::array(GgufType::STRING, {GgufValue::str("<unk>"), GgufValue::str("<s>"),
                                              GgufValue::str("</s>")}));
    w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
    w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
    ASSERT_TRUE(w.write(dir.file("m.gguf")).ok());
    std::ofstream(dir.file("t.jinja")) << src;
    std::ofstream(dir.file("msgs.json"))
        << R"({"messages": [{"role": "user", "content": "hi"}], "tools": [{"name": "f"}]})";
    std::string out;
    ASSERT_EQ(test::run(test::binary() + " chat-template --model " + dir.file("m.gguf") +
                            " --messages " + dir.file("msgs.json"),
                        &out),
              0);
    EXPECT_EQ(out, "<s><|user|>hi</s>[1 tools]<|assistant|>");
    // A .jinja file carries no BOS/EOS text: refused rather than rendered without them.
    ASSERT_NE(test::run(test::binary() + " chat-template --template " + dir.file("t.jinja") +
                            " --messages " + dir.file("msgs.json") + " 2>&1",
                        &out),
              0);
    EXPECT_NE(out.find("--tokenizer-config"), std::string::npos) << out;
    std::ofstream(dir.file("tokenizer_config.json"))
        << R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>"})";
    ASSERT_EQ(test::run(test::binary() + " chat-template --template " + dir.file("t.jinja") +
                            " --tokenizer-config " + dir.file("tokenizer_config.json") +
                            " --messages " + dir.file("msgs.json") + " --no-generation-prompt",
                        &out),
              0);
    EXPECT_EQ(out, "<s><|user|>hi</s>[1 tools]");
    std::ofstream(dir.file("bad.jinja")) << "line1\n{% if %}";
    ASSERT_NE(test::run(test::binary() + " chat-template --template " + dir.file("bad.jinja") +
                            " --messages " + dir.file("msgs.json") + " 2>&1",
                        &out),
              0);
    EXPECT_NE(out.find("line 2"), std::string::npos) << out;
}

// Issue 23 item 5: a Llama 3 template with its tokenizer_config.json renders
// <|begin_of_text|>, as Hugging Face does; the config's own template is used
// when no --template is given.
TEST(ChatTemplateCli, TakesBosAndTemplateFromTokenizerConfig) {
    const std::string cfg = test::shared_file("tokenizers/hf/llama3/tokenizer_config.json");
    const std::string tpl = test::shared_file("templates/meta-llama-Llama-3.1-8B-Instruct.jinja");
    if (!std::filesystem::exists(cfg) || !std::filesystem::exists(tpl))
        GTEST_SKIP() << "no ../shared";
    test::TempDir dir;
    std::ofstream(dir.file("msgs.json")) << R"([{"role": "user", "content": "hi"}])";
    std::string out;
    ASSERT_EQ(test::run(test::binary() + " chat-template --template " + tpl +
                            " --tokenizer-config " + cfg + " --messages " + dir.file("msgs.json"),
                        &out),
              0);
    EXPECT_EQ(out.rfind("<|begin_of_text|><|start_header_id|>system", 0), 0u) << out;
    ASSERT_EQ(test::run(test::binary() + " chat-template --tokenizer-config " + cfg +
                            " --messages " + dir.file("msgs.json"),
                        &out),
              0);
    EXPECT_EQ(out.rfind("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi", 0), 0u)
        << out;
}

}  // namespace
}  // namespace ig
