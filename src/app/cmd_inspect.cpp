#include <iostream>
#include <memory>

#include "app/commands.h"
#include "model_tools/inspect.h"

namespace ig::app {

Command add_inspect(CLI::App& app) {
    struct Args {
        std::string path;
        bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* in = app.add_subcommand("inspect", "Describe a GGUF model file");
    in->add_option("model", a->path, "GGUF file")->required();
    in->add_flag("--json", a->json, "Print JSON");
    return {in, [a] {
                auto st = run_inspect(a->path, a->json, std::cout);
                if (!st.ok()) return fail(st.error());
                return 0;
            }};
}

}  // namespace ig::app
