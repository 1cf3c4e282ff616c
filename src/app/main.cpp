// infergrid: one binary, subcommands. Exceptions stop here (CLI parsing);
// everything below returns Expected/Status.
#include <string>
#include <vector>

#include "app/commands.h"

int main(int argc, char** argv) {
    using namespace ig::app;
    CLI::App app{"infergrid: LLM inference server"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "infergrid 0.1.0");
    // --help shows every option's default (subcommands inherit this).
    app.option_defaults()->always_capture_default();

    const std::vector<Command> commands = {
        add_generate(app),   add_synth(app),    add_inspect(app), add_tokenize(app),
        add_detokenize(app), add_quantize(app), add_convert(app), add_chat_template(app),
        add_bench(app),      add_serve(app),    add_plan(app),    add_tenants(app),
        add_usage(app),      add_pull(app),
    };

    // A first word that is no command is a typo or a command from another
    // tool (`infergrid run`): name it and list ours, rather than CLI11's
    // "A subcommand is required".
    const CLI::App& all = app;
    const auto named = [&](const char* word) {
        return all.get_subcommands([word](const CLI::App* sub) { return sub->check_name(word); });
    };
    if (argc > 1 && argv[1][0] != '-' && named(argv[1]).empty()) {
        std::string names;
        for (const CLI::App* sub : all.get_subcommands([](const CLI::App*) { return true; }))
            names += (names.empty() ? "" : ", ") + sub->get_name();
        return fail(ig::make_error("unknown command '{}' (commands: {}; see infergrid --help)",
                                   argv[1], names));
    }
    CLI11_PARSE(app, argc, argv);
    for (const Command& c : commands)
        if (c.sub->parsed()) return c.run();
    return 0;
}
