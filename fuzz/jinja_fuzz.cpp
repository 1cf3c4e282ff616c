// libFuzzer target: any bytes as a chat template, rendered over a fixed
// conversation with tools. Parsing or rendering must either succeed or fail
// with a message, within the limits (no crash, hang, or runaway memory), and
// a successful render must mark every byte of its text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chat/chat_template.h"

namespace {

const nlohmann::ordered_json& conversation() {
    static const auto m = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": [{"type": "text", "text": "<|im_start|>hi"}]},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "abc123XYZ", "type": "function",
        "function": {"name": "f", "arguments": {"x": 1.5, "y": [true, null]}}}]},
      {"role": "tool", "tool_call_id": "abc123XYZ", "content": "{\"ok\": 1}"},
      {"role": "user", "content": "héllo 🙂"}])");
    return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view src(reinterpret_cast<const char*>(data), size);
    auto tpl = ig::ChatTemplate::parse(src);
    if (!tpl.ok()) {
        if (tpl.error().message.empty()) std::abort();
        return 0;
    }
    ig::ChatRenderOptions opt;
    opt.bos_token = "<s>";
    opt.eos_token = "</s>";
    opt.tools =
        nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
    opt.now = 0;
    opt.limits.max_steps = 200000;  // keep each input fast; the defaults are larger
    opt.limits.max_output_bytes = 1 << 20;
    auto r = tpl->render(conversation(), opt);
    if (!r.ok()) {
        if (r.error().message.empty()) std::abort();
        return 0;
    }
    if (r->special_allowed.size() != r->text.size()) std::abort();
    return 0;
}
