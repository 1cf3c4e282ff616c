#include <iostream>
#include <memory>

#include "app/commands.h"
#include "model_tools/tokenize_cli.h"

namespace ig::app {

Command add_detokenize(CLI::App& app) {
    auto o = std::make_shared<TokenizeCliOptions>();
    auto* d = app.add_subcommand("detokenize", "Print the text of token ids");
    d->add_option("-m,--model", o->model, "GGUF file (vocab-only files work)");
    d->add_option("--tokenizer-json", o->tokenizer_json,
                  "Hugging Face tokenizer.json (tokenizer_config.json beside it is read too)");
    d->add_flag("--render-special", o->render_special, "Print the text of control tokens");
    d->add_flag("--jsonl", o->jsonl,
                "Read one JSON array of ids per stdin line, print one JSON string each");
    d->add_option("ids", o->ids, "Token ids");
    return {d, [o] {
                auto st = run_detokenize(*o, std::cin, std::cout);
                if (!st.ok()) return fail(st.error());
                return 0;
            }};
}

}  // namespace ig::app
