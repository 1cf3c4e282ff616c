#include <iostream>
#include <memory>

#include "app/commands.h"
#include "model_tools/tokenize_cli.h"

namespace ig::app {

Command add_tokenize(CLI::App& app) {
    auto o = std::make_shared<TokenizeCliOptions>();
    auto* t = app.add_subcommand("tokenize", "Print the token ids of a text");
    t->add_option("-m,--model", o->model, "GGUF file (vocab-only files work)");
    t->add_option("--tokenizer-json", o->tokenizer_json,
                  "Hugging Face tokenizer.json (tokenizer_config.json beside it is read too)");
    t->add_flag("--no-bos", o->no_bos, "Do not add BOS/EOS");
    t->add_flag("--parse-special", o->parse_special, "Text of control tokens becomes those tokens");
    t->add_flag("--jsonl", o->jsonl,
                "Read one JSON string per stdin line, print one line of ids each");
    t->add_option("text", o->text, "Text (stdin when absent)");
    return {t, [o] {
                auto st = run_tokenize(*o, std::cin, std::cout);
                if (!st.ok()) return fail(st.error());
                return 0;
            }};
}

}  // namespace ig::app
