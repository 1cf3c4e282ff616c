// `infergrid chat-template` end to end.
#include <gtest/gtest.h>

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
    ASSERT_EQ(test::run(test::binary() + " chat-template --template " + dir.file("t.jinja") +
                            " --messages " + dir.file("msgs.json") + " --no-generation-prompt",
                        &out),
              0);
    EXPECT_EQ(out, "<|user|>hi[1 tools]");
    std::ofstream(dir.file("bad.jinja")) << "line1\n{% if %}";
    ASSERT_NE(test::run(test::binary() + " chat-template --template " + dir.file("bad.jinja") +
                            " --messages " + dir.file("msgs.json") + " 2>&1",
                        &out),
              0);
    EXPECT_NE(out.find("line 2"), std::string::npos) << out;
}

}  // namespace
}  // namespace ig
