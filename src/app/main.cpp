// infergrid: one binary, subcommands. Exceptions stop here (CLI parsing);
// everything below returns Expected/Status.
#include <vector>

#include "app/commands.h"

int main(int argc, char** argv) {
    using namespace ig::app;
    CLI::App app{"infergrid: LLM inference server"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "infergrid 0.1.0");

    const std::vector<Command> commands = {
        add_generate(app),   add_synth(app),    add_inspect(app),       add_tokenize(app),
        add_detokenize(app), add_quantize(app), add_chat_template(app), add_bench(app),
        add_serve(app),      add_plan(app),
    };

    CLI11_PARSE(app, argc, argv);
    for (const Command& c : commands)
        if (c.sub->parsed()) return c.run();
    return 0;
}
