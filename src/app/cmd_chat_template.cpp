#include <iostream>
#include <memory>

#include "app/commands.h"
#include "model_tools/chat_template_cli.h"

namespace ig::app {

Command add_chat_template(CLI::App& app) {
    auto a = std::make_shared<ChatTemplateCliArgs>();
    auto no_gen = std::make_shared<bool>(false);
    auto* c = app.add_subcommand("chat-template", "Render a conversation through a chat template");
    auto* model = c->add_option("--model", a->model, "GGUF file with tokenizer.chat_template");
    auto* tpl = c->add_option("--template", a->template_path,
                              "Jinja chat template file instead of --model");
    auto* cfg = c->add_option("--tokenizer-config", a->tokenizer_config,
                              "Hugging Face tokenizer_config.json: bos_token/eos_token, and its "
                              "chat_template unless --template is given");
    model->excludes(tpl);
    model->excludes(cfg);
    c->add_option("--messages", a->messages_path,
                  "JSON: [messages] or {\"messages\": [...], \"tools\": [...]}")
        ->required();
    c->add_option("--tools", a->tools_path, "JSON array of tools");
    c->add_flag("--no-generation-prompt", *no_gen, "Do not open an assistant turn at the end");
    return {c, [a, no_gen] {
                a->add_generation_prompt = !*no_gen;
                auto st = run_chat_template(*a, std::cout);
                if (!st.ok()) return fail(st.error());
                return 0;
            }};
}

}  // namespace ig::app
